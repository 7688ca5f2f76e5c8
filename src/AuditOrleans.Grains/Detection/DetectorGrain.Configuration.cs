using AuditOrleans.Grains.Rules;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// The alert configuration in the detector: read from the alert-config grain's persisted state
/// on activation (without activating that grain) and replaced by what it pushes after each
/// change, so a project-region costs one activation and a batch no extra call.
/// </summary>
public sealed partial class DetectorGrain
{
    // The active alerts as a bit mask (bit n: AlertName n) and the version of the configuration
    // they come from; a pushed or read configuration replaces them only when it is newer.
    private int activeAlerts;
    private long configurationVersion;

    public Task ApplyConfigurationAsync(AlertConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var projectId = ProjectId();
        if (configuration.ProjectId != projectId || configuration.Region != region)
        {
            throw new ArgumentException(
                $"The configuration of {configuration.ProjectId}/{configuration.Region} was sent to the detector of {projectId}/{region}.", nameof(configuration));
        }

        var enabledBefore = EnabledRules;
        var newer = configuration.Version > configurationVersion;
        Apply(projectId, configuration.Active, configuration.Version, configuration.Rules);
        return newer && EnabledRules > enabledBefore ? RebuildRulesAsync(projectId, CancellationToken.None) : Task.CompletedTask;
    }

    /// <summary>
    /// Reads the alert-config grain's persisted state straight from grain storage (the same row
    /// its <c>IPersistentState</c> uses), so that ingestion never activates that grain.
    /// </summary>
    private async Task LoadConfigurationAsync(string projectId)
    {
        var storage = ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);
        var persisted = new GrainState<AlertConfigState>();
        var configGrain = GrainFactory.GetGrain<IAlertConfigGrain>(this.GetPrimaryKeyString()).GetGrainId();
        await storage.ReadStateAsync(AlertConfigState.StateName, configGrain, persisted);
        if (persisted.RecordExists && persisted.State is { } state)
        {
            Apply(projectId, AlertConfigGrain.ActiveSet(state), state.Version, state.Rules);
        }
    }

    private void Apply(string projectId, IEnumerable<AlertName> active, long version, IReadOnlyList<AlertRule> customRules)
    {
        if (version <= configurationVersion)
        {
            return;
        }

        // The rule set is made with the first custom rule and kept from then on (its error count
        // is per activation).
        if (rules is not null || customRules.Count > 0)
        {
            rules ??= new RuleSet();
            foreach (var (rule, error) in rules.Apply(customRules))
            {
                LogRuleRefused(services.Logger, rule.Name, projectId, region, error);
            }
        }

        var mask = 0;
        foreach (var alert in active)
        {
            mask |= 1 << (int)alert;
        }

        activeAlerts = mask;
        configurationVersion = version;
    }

    private bool IsActive(AlertName alert) => (activeAlerts & (1 << (int)alert)) != 0;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Custom rule {Rule} of {ProjectId}/{Region} does not compile and is not evaluated: {Error}")]
    private static partial void LogRuleRefused(ILogger logger, string rule, string projectId, string region, string error);
}
