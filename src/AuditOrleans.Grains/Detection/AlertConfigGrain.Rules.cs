using System.Globalization;
using AuditOrleans.Grains.Ingestion;
using AuditOrleans.Grains.Rules;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// The custom alert rules of the project-region (docs/rules.md): created, renamed, described,
/// enabled, disabled and removed here, persisted with the alert configuration and pushed to the
/// detector like it; every change is recorded in the alert history with the acting key.
/// </summary>
public sealed partial class AlertConfigGrain
{
    public async Task<AlertRule> CreateRuleAsync(AlertRuleDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var name = CheckName(draft.Name, null);
        var description = CheckDescription(draft.Description);
        CheckCounting(draft.EvaluationWindow, draft.Occurrences);
        if (!Enum.IsDefined(draft.Severity))
        {
            throw new ArgumentException($"'{draft.Severity}' is not a severity: use info, warning, error or critical.", nameof(draft));
        }

        if (state.State.Rules.Count >= RuleLimits.MaxRulesPerRegion)
        {
            throw new InvalidOperationException(
                $"{projectId}/{region} has {state.State.Rules.Count} rules, the most a project-region may have: remove rules that are no longer needed.");
        }

        _ = CompiledRule.Compile(draft.Query);
        var now = time.GetUtcNow();
        var key = ActingKey.Current();
        var rule = new AlertRule
        {
            Id = Guid.CreateVersion7(now).ToString(),
            Name = name,
            Description = description ?? "",
            Query = draft.Query,
            EvaluationWindow = draft.EvaluationWindow,
            Occurrences = draft.Occurrences,
            Severity = draft.Severity,
            Enabled = draft.Enabled,
            DryRun = draft.DryRun,
            CreatedAt = now,
            CreatedBy = key,
            UpdatedAt = now,
            UpdatedBy = key,
        };
        state.State.Rules.Add(rule);
        await SaveRulesAsync(now);
        await RecordChangeAsync(rule, now, key,
            $"Created rule {rule.Name} ({(rule.Enabled ? "enabled" : "disabled")}{(rule.DryRun ? ", dry run" : "")}): {rule.Occurrences} in {Describe(rule.EvaluationWindow)}, {rule.Severity.ToString().ToLowerInvariant()}, query {rule.Query}");
        return rule;
    }

    public async Task<AlertRule> UpdateRuleAsync(string name, string? newName, string? description)
    {
        var index = IndexOf(name);
        var rule = state.State.Rules[index];
        var renamed = newName is null ? rule.Name : CheckName(newName, rule.Id);
        var described = description is null ? rule.Description : CheckDescription(description) ?? "";
        var changes = new List<string>();
        if (!string.Equals(renamed, rule.Name, StringComparison.Ordinal))
        {
            changes.Add($"renamed {rule.Name} to {renamed}");
        }

        if (!string.Equals(described, rule.Description, StringComparison.Ordinal))
        {
            changes.Add($"description changed from '{rule.Description}' to '{described}'");
        }

        if (changes.Count == 0)
        {
            return rule;
        }

        var now = time.GetUtcNow();
        var key = ActingKey.Current();
        var updated = rule with { Name = renamed, Description = described, UpdatedAt = now, UpdatedBy = key };
        state.State.Rules[index] = updated;
        await SaveRulesAsync(now);
        await RecordChangeAsync(updated, now, key, $"Rule {rule.Name}: {string.Join("; ", changes)}");
        return updated;
    }

    public async Task<bool> RemoveRuleAsync(string name)
    {
        var index = state.State.Rules.FindIndex(r => string.Equals(r.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase));
        if (index < 0)
        {
            return false;
        }

        var rule = state.State.Rules[index];
        state.State.Rules.RemoveAt(index);
        var now = time.GetUtcNow();
        await SaveRulesAsync(now);
        await RecordChangeAsync(rule, now, ActingKey.Current(), $"Removed rule {rule.Name} (query {rule.Query})");
        return true;
    }

    public async Task<AlertConfiguration> SetRulesEnabledAsync(IReadOnlyDictionary<string, bool> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var indexes = changes.Select(c => (Index: IndexOf(c.Key), Enabled: c.Value)).ToList();
        var now = time.GetUtcNow();
        var key = ActingKey.Current();
        var changed = new List<AlertRule>();
        foreach (var (index, enabled) in indexes)
        {
            if (state.State.Rules[index].Enabled != enabled)
            {
                state.State.Rules[index] = state.State.Rules[index] with { Enabled = enabled, UpdatedAt = now, UpdatedBy = key };
                changed.Add(state.State.Rules[index]);
            }
        }

        if (changed.Count == 0)
        {
            return Snapshot();
        }

        await SaveRulesAsync(now);
        foreach (var rule in changed)
        {
            await RecordChangeAsync(rule, now, key, $"{(rule.Enabled ? "Enabled" : "Disabled")} rule {rule.Name}");
        }

        return Snapshot();
    }

    public Task<RuleTestResult> TestRuleOnEventsAsync(RuleTestRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckCounting(request.EvaluationWindow, request.Occurrences);
        if (request.Events is not { } events)
        {
            throw new ArgumentException("No events were sent: give the events to replay, or replay the stored events.", nameof(request));
        }

        if (events.Count > IngestLimits.MaxBatchEvents)
        {
            throw new ArgumentException($"At most {IngestLimits.MaxBatchEvents} events are replayed per call; this one has {events.Count}: send them in parts, carrying the state.", nameof(request));
        }

        var compiled = CompiledRule.Compile(request.Query);

        // The live rule sees events as the silo stored them: validated, completed and routed. So does the replay.
        var validator = new EventValidator(options.Value.Regions, time);
        var normalized = new List<AuditEvent?>(events.Count);
        var refused = new List<RuleTestMatch>();
        for (var i = 0; i < events.Count; i++)
        {
            var result = events[i] is { } raw ? validator.Validate(raw, i, projectId) : (ValidationResult?)null;
            if (result?.Event is { } valid && valid.Region == region && valid.ProjectId == projectId)
            {
                normalized.Add(valid);
            }
            else
            {
                // Not stored here, so never seen by this project-region's rule: left out, like the live rule leaves it.
                normalized.Add(null);
                if (result?.Error is { } error)
                {
                    refused.Add(new RuleTestMatch { Index = i, EventId = error.EventId, Error = $"not a valid event ({error.Field}): {error.Message}" });
                }
            }
        }

        var replay = RuleReplay.Run(compiled, request.EvaluationWindow, request.Occurrences, normalized, request.State);
        return Task.FromResult(replay with { Matches = [.. refused.Concat(replay.Matches).OrderBy(static m => m.Index)] });
    }

    public async Task<RuleTestResult> TestRuleOnStoredAsync(RuleTestRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckCounting(request.EvaluationWindow, request.Occurrences);
        var compiled = CompiledRule.Compile(request.Query);
        var end = request.End ?? time.GetUtcNow();
        var start = request.Start ?? end - TimeSpan.FromHours(24);
        if (start > end)
        {
            throw new ArgumentException($"The start {AuditEventJson.FormatTime(start)} is after the end {AuditEventJson.FormatTime(end)}: swap them.", nameof(request));
        }

        var events = new List<AuditEvent>();
        await foreach (var e in log.ReadEventsAsync(projectId, region, DbTime.ToMicros(start), DbTime.ToMicros(end), RuleLimits.MaxReplayEvents + 1))
        {
            events.Add(e);
        }

        var truncated = events.Count > RuleLimits.MaxReplayEvents;
        var replay = RuleReplay.Run(compiled, request.EvaluationWindow, request.Occurrences, truncated ? events.Take(RuleLimits.MaxReplayEvents) : events, request.State);
        return replay with { Truncated = truncated };
    }

    private async Task SaveRulesAsync(DateTimeOffset now)
    {
        state.State.Version++;
        state.State.UpdatedAt = now;
        await database.WithoutConcurrentWritesAsync(() => state.WriteStateAsync());
        await PushAsync(Snapshot());
    }

    /// <summary>Records a rule change in the alert history: never emailed (docs/rules.md, Changes are audited).</summary>
    private async Task RecordChangeAsync(AlertRule rule, DateTimeOffset now, string key, string change)
    {
        LogRuleChanged(logger, projectId, region, key, change);
        try
        {
            await recorder.RecordFiringAsync(new FiredAlert
            {
                Id = Guid.CreateVersion7(now).ToString("N"),
                ProjectId = projectId,
                Region = region,
                Alert = AlertName.CustomRule,
                Severity = AlertRule.ToAlertSeverity(rule.Severity),
                TriggeredAt = now,
                EventTime = now,
                WindowStart = now,
                WindowEnd = now,
                Kind = AlertKind.RuleChanged,
                Facts = new AlertFacts { Rule = rule.ToFacts(), Change = change, ChangedBy = key },
            });
        }
        catch (Exception ex)
        {
            // The change is saved; its history entry is lost, the log line above keeps it.
            LogRuleChangeNotRecorded(logger, projectId, region, ex);
        }
    }

    private int IndexOf(string? name)
    {
        var index = state.State.Rules.FindIndex(r => string.Equals(r.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase));
        if (index < 0)
        {
            var known = state.State.Rules.Count == 0 ? "it has none (New-AuditAlertRule creates one)" : "its rules: " + string.Join(", ", state.State.Rules.Select(static r => r.Name));
            throw new KeyNotFoundException($"{projectId}/{region} has no rule named '{Scope.Printable(name ?? "")}'; {known}.");
        }

        return index;
    }

    private string CheckName(string? name, string? ownId)
    {
        var trimmed = name?.Trim() ?? "";
        if (!RuleLimits.IsValidName(trimmed))
        {
            throw new ArgumentException(
                $"The rule name '{Scope.Printable(trimmed, 60)}' is not valid: give 1 to {RuleLimits.MaxNameLength} letters, digits, '-', '_' or '.' (it is used as -Name of Enable-AuditAlert).", nameof(name));
        }

        if (AlertCatalog.TryParse(trimmed, out _))
        {
            throw new ArgumentException($"'{trimmed}' is the name of a preconfigured alert: give the rule a name of its own.", nameof(name));
        }

        if (state.State.Rules.Any(r => r.Id != ownId && string.Equals(r.Name, trimmed, StringComparison.OrdinalIgnoreCase)))
        {
            throw new ArgumentException($"{projectId}/{region} already has a rule named '{trimmed}': choose another name, or remove that rule first.", nameof(name));
        }

        return trimmed;
    }

    private static string? CheckDescription(string? description)
    {
        if (string.IsNullOrWhiteSpace(description))
        {
            return null;
        }

        if (description.Length > RuleLimits.MaxDescriptionLength || description.Any(static c => char.IsControl(c) && c is not '\n'))
        {
            throw new ArgumentException($"The description must be at most {RuleLimits.MaxDescriptionLength} characters of text without control characters.", nameof(description));
        }

        return description.Trim();
    }

    private static void CheckCounting(TimeSpan window, int occurrences)
    {
        if (window < RuleLimits.MinWindow || window > RuleLimits.MaxWindow)
        {
            throw new ArgumentException(
                $"The evaluation window {Describe(window)} is out of range: give {Describe(RuleLimits.MinWindow)} to {Describe(RuleLimits.MaxWindow)}.", nameof(window));
        }

        if (occurrences is < 1 or > RuleLimits.MaxOccurrences)
        {
            throw new ArgumentException($"Occurrences {occurrences} is out of range: give 1 to {RuleLimits.MaxOccurrences}.", nameof(occurrences));
        }
    }

    private static string Describe(TimeSpan span) => span.TotalSeconds < 60
        ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0} s")
        : span.TotalMinutes < 120 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0.#} min") : string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0.#} h");

    [LoggerMessage(Level = LogLevel.Information, Message = "Custom rule change in {ProjectId}/{Region} by key {KeyId}: {Change}")]
    private static partial void LogRuleChanged(ILogger logger, string projectId, string region, string keyId, string change);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A custom rule change in {ProjectId}/{Region} is saved but could not be recorded in the alert history")]
    private static partial void LogRuleChangeNotRecorded(ILogger logger, string projectId, string region, Exception exception);
}
