using AuditOrleans.Grains.Rules;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// The custom rules in the detector (docs/rules.md, How rules run): the rebuild of their
/// counting windows from the log when the detector activates or a rule is enabled, and the
/// errors of their queries. Their firings are built by <see cref="AlertNotices"/>.
/// </summary>
public sealed partial class DetectorGrain
{
    /// <summary>Most stored events read back to rebuild the windows (the newest within the longest window).</summary>
    public const int MaxRebuildEvents = 200_000;

    private int EnabledRules => rules?.EnabledCount ?? 0;

    /// <summary>
    /// Rebuilds every enabled rule's window from the stored events within its window ending at the
    /// newest event, after its last recorded firing (the durable state of a rule's episode).
    /// </summary>
    private async Task RebuildRulesAsync(string projectId, CancellationToken cancellationToken)
    {
        if (rules is not { EnabledCount: > 0 } ruleSet)
        {
            return;
        }

        var log = services.Log;
        var newest = await log.GetNewestRecordedAsync(projectId, region, cancellationToken);
        var firings = await log.GetRuleFiringsAsync(projectId, region, cancellationToken);
        var recent = new List<AuditEvent>();
        if (newest is { } n)
        {
            var from = n - (ruleSet.LongestWindow.Ticks / 10);
            await foreach (var e in log.ReadEventsAsync(projectId, region, from, n, MaxRebuildEvents, cancellationToken))
            {
                recent.Add(e);
            }
        }

        ruleSet.Rebuild(recent, newest, firings);
    }

    /// <summary>Logs the first evaluation error of each rule (later ones are only counted).</summary>
    private void ReportRuleErrors(string projectId)
    {
        if (rules is null)
        {
            return;
        }

        while (rules.NewErrors.TryDequeue(out var failure))
        {
            LogRuleError(services.Logger, failure.Rule.Name, projectId, region, failure.Error);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Custom rule {Rule} of {ProjectId}/{Region} could not be evaluated on an event (the event is stored and does not match; further errors of this rule are counted, not logged): {Error}")]
    private static partial void LogRuleError(ILogger logger, string rule, string projectId, string region, string error);
}
