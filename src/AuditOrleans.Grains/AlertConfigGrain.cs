using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains;

/// <summary>Persisted state of <see cref="AlertConfigGrain"/>: JSON-friendly and versionable.</summary>
[GenerateSerializer]
[Alias("AuditOrleans.AlertConfigState")]
public sealed class AlertConfigState
{
    /// <summary>Names of the active alerts.</summary>
    [Id(0)] public List<string> Active { get; set; } = [];

    [Id(1)] public long Version { get; set; }

    [Id(2)] public DateTimeOffset? UpdatedAt { get; set; }
}

/// <summary>Which alerts are active in one project-region; every change is one persisted write.</summary>
public sealed class AlertConfigGrain(
    [PersistentState("alertConfig", GrainStorage.Name)] IPersistentState<AlertConfigState> state,
    IOptions<AuditOrleansOptions> options,
    TimeProvider time) : Grain, IAlertConfigGrain
{
    private string projectId = "";
    private string region = "";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (projectId, region) = GrainKeys.ProjectRegion(this.GetPrimaryKeyString(), options.Value.Regions);
        return Task.CompletedTask;
    }

    public Task<AlertConfiguration> GetAsync() => Task.FromResult(Snapshot());

    public async Task<AlertConfiguration> SetActiveAsync(IReadOnlyDictionary<AlertName, bool> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        foreach (var name in changes.Keys)
        {
            if (!Enum.IsDefined(name))
            {
                throw new ArgumentException($"'{name}' is not an alert. Valid names: {AlertCatalog.ValidNames}.", nameof(changes));
            }
        }

        var active = ActiveSet();
        foreach (var (name, on) in changes)
        {
            if (on)
            {
                active.Add(name);
            }
            else
            {
                active.Remove(name);
            }
        }

        if (active.SetEquals(ActiveSet()))
        {
            return Snapshot();
        }

        state.State.Active = [.. active.Order().Select(static a => a.ToString())];
        state.State.Version++;
        state.State.UpdatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
        return Snapshot();
    }

    private HashSet<AlertName> ActiveSet() =>
        [.. state.State.Active.Select(static n => AlertCatalog.TryParse(n, out var a) ? a : (AlertName?)null).OfType<AlertName>()];

    private AlertConfiguration Snapshot() => new(projectId, region, ActiveSet(), state.State.Version, state.State.UpdatedAt);
}

/// <summary>Names shared by the silo's wiring and the grains.</summary>
public static class GrainStorage
{
    /// <summary>The ADO.NET grain storage provider holding grain state.</summary>
    public const string Name = "auditStore";
}

/// <summary>Parsing and validation of grain keys.</summary>
public static class GrainKeys
{
    /// <summary>Splits and checks a <c>{projectId}/{region}</c> key; the exception message says what is wrong.</summary>
    public static (string ProjectId, string Region) ProjectRegion(string key, IReadOnlyCollection<string> regions)
    {
        var (projectId, region) = Scope.ParseKey(key);
        if (!Scope.IsValidProjectId(projectId))
        {
            throw new ArgumentException(Scope.DescribeProjectIdRule(projectId));
        }

        if (!regions.Contains(region))
        {
            throw new ArgumentException(Scope.DescribeUnknownRegion(region, regions));
        }

        return (projectId, region);
    }
}
