using AuditOrleans.Grains.Rules;
using AuditOrleans.Grains.Storage;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// The custom rules in the detector (docs/rules.md, How rules run): their firings, and the
/// rebuild of their counting windows from the log when the detector activates or a rule is enabled.
/// </summary>
public sealed partial class DetectorGrain
{
    /// <summary>Most stored events read back to rebuild the windows (the newest within the longest window).</summary>
    public const int MaxRebuildEvents = 200_000;

    /// <summary>
    /// Rebuilds every enabled rule's window from the stored events within its window ending at the
    /// newest event, after its last recorded firing (the durable state of a rule's episode).
    /// </summary>
    private async Task RebuildRulesAsync(CancellationToken cancellationToken)
    {
        if (rules.EnabledCount == 0)
        {
            return;
        }

        var newest = await log.GetNewestRecordedAsync(projectId, region, cancellationToken);
        var firings = await log.GetRuleFiringsAsync(projectId, region, cancellationToken);
        var recent = new List<AuditEvent>();
        if (newest is { } n)
        {
            var from = n - (rules.LongestWindow.Ticks / 10);
            await foreach (var e in log.ReadEventsAsync(projectId, region, from, n, MaxRebuildEvents, cancellationToken))
            {
                recent.Add(e);
            }
        }

        rules.Rebuild(recent, newest, firings);
    }

    private FiredAlert RuleFiring(AlertRule rule, int count, AuditEvent e, DateTimeOffset now, bool historical) => new()
    {
        Id = NewFiringId(now),
        ProjectId = projectId,
        Region = region,
        Alert = AlertName.CustomRule,
        Severity = AlertRule.ToAlertSeverity(rule.Severity),
        TriggeredAt = now,
        EventTime = e.RecordedAt!.Value,
        WindowStart = e.RecordedAt!.Value - rule.EvaluationWindow,
        WindowEnd = e.RecordedAt!.Value,
        Facts = Facts(e) with { Rule = rule.ToFacts(), MatchCount = count },
        IsBackfill = historical,
        IsLate = IsLate(e, now, historical),
    };

    /// <summary>Logs the first evaluation error of each rule (later ones are only counted).</summary>
    private void ReportRuleErrors()
    {
        while (rules.NewErrors.TryDequeue(out var failure))
        {
            LogRuleError(logger, failure.Rule.Name, projectId, region, failure.Error);
        }
    }
}
