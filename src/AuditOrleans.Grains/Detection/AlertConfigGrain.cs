using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Notifications;
using AuditOrleans.Grains.Storage;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// Which alerts are active in one project-region; every change is one persisted write, then
/// handed to the project-region's detector (<see cref="IDetectorGrain.ApplyConfigurationAsync"/>).
/// The detector does not call this grain: it reads the persisted state itself when it activates
/// and takes the pushed changes afterwards, so ingestion never activates this grain and it idles
/// out after a change.
/// </summary>
public sealed partial class AlertConfigGrain(
    [PersistentState(AlertConfigState.StateName, GrainStorage.Name)] IPersistentState<AlertConfigState> state,
    IOptions<AuditOrleansOptions> options,
    TimeProvider time,
    FiringRecorder recorder,
    AuditLogWriter log,
    AuditDatabase database,
    ILogger<AlertConfigGrain> logger) : Grain, IAlertConfigGrain
{
    /// <summary>How often a change the detector could not take is handed to it again.</summary>
    private static readonly TimeSpan PushRetryPeriod = TimeSpan.FromSeconds(5);

    private string projectId = "";
    private string region = "";
    private IGrainTimer? pushRetry;

    /// <summary>The newest version the detector confirmed taking from this activation (0: none yet).</summary>
    private long pushedVersion;

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
            if (!Enum.IsDefined(name) || name == AlertName.CustomRule)
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
            // Nothing to change, but the saved state may never have reached the detector: a silo
            // that died between the write and the push left its caller without an answer, and the
            // caller's retry lands here. Hand it over once per activation (the detector ignores
            // versions it has).
            var unchanged = Snapshot();
            if (pushedVersion < unchanged.Version && pushRetry is null)
            {
                await PushAsync(unchanged);
            }

            return unchanged;
        }

        state.State.Active = [.. active.Order().Select(static a => a.ToString())];
        state.State.Version++;
        state.State.UpdatedAt = time.GetUtcNow();
        await database.WithoutConcurrentWritesAsync(() => state.WriteStateAsync());
        var applied = Snapshot();
        await PushAsync(applied);
        return applied;
    }

    /// <summary>
    /// Hands the persisted configuration to the detector. The change is durable already: when
    /// the detector cannot take it now (its silo is failing, the call timed out), this grain
    /// stays active and retries until it does; a detector that activates in the meantime reads
    /// the persisted state itself.
    /// </summary>
    private async Task PushAsync(AlertConfiguration configuration)
    {
        try
        {
            await GrainFactory.GetGrain<IDetectorGrain>(this.GetPrimaryKeyString()).ApplyConfigurationAsync(configuration);
            pushedVersion = Math.Max(pushedVersion, configuration.Version);
            pushRetry?.Dispose();
            pushRetry = null;
        }
        catch (Exception ex)
        {
            LogPushFailed(logger, projectId, region, configuration.Version, PushRetryPeriod.TotalSeconds, ex);
            pushRetry ??= this.RegisterGrainTimer(
                static (grain, _) => grain.PushAsync(grain.Snapshot()),
                this,
                new GrainTimerCreationOptions(PushRetryPeriod, PushRetryPeriod) { KeepAlive = true });
        }
    }

    /// <summary>The alerts named in a persisted state; names that are no longer alerts are ignored.</summary>
    internal static HashSet<AlertName> ActiveSet(AlertConfigState persisted) =>
        [.. persisted.Active.Select(static n => AlertCatalog.TryParse(n, out var a) ? a : (AlertName?)null).OfType<AlertName>()];

    private HashSet<AlertName> ActiveSet() => ActiveSet(state.State);

    private AlertConfiguration Snapshot() => new(projectId, region, ActiveSet(), state.State.Version, state.State.UpdatedAt) { Rules = [.. state.State.Rules] };

    [LoggerMessage(Level = LogLevel.Warning, Message = "The detector of {ProjectId}/{Region} did not take alert configuration version {Version}; retrying every {RetrySeconds} s (the change is saved)")]
    private static partial void LogPushFailed(ILogger logger, string projectId, string region, long version, double retrySeconds, Exception exception);
}
