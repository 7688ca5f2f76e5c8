using System.Globalization;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// What a notice of one firing says, whatever the channel (docs/webhooks.md): the firing, its
/// alert's definition (description, recommended actions), the facts as labelled lines in the
/// email's words, the filtered Audit Trail link and the incident timeline's link. The email's text and HTML parts and the
/// webhook bodies (JSON, Slack, Teams) are all rendered from it.
/// </summary>
public sealed record AlertMessage(FiredAlert Alert, AlertDefinition Definition, IReadOnlyList<(string Label, string Value)> Facts, string Link, string TimelineLink)
{
    /// <summary>The notice of <paramref name="alert"/>, its links on the console at <paramref name="consoleBaseUrl"/> (Console:BaseUrl).</summary>
    public static AlertMessage For(FiredAlert alert, string consoleBaseUrl)
    {
        var link = AuditTrailLink.For(consoleBaseUrl, alert);
        var f = alert.Facts;
        var facts = new List<(string, string)>();
        if (alert.Alert == AlertName.HttpForbiddenErrorRateHigh && alert.Kind != AlertKind.Firing)
        {
            var first = f.FirstEventTime ?? alert.WindowStart;
            var whole = alert.Kind == AlertKind.Resolved ? "the whole episode" : "the episode so far";
            if (f.ForbiddenCount is { } total)
            {
                facts.Add(($"HTTP 403 responses in {whole}", total.ToString(CultureInfo.InvariantCulture)));
            }

            facts.Add(("First 403", AlertEmailComposer.FormatTime(first)));
            facts.Add(("Last 403", AlertEmailComposer.FormatTime(alert.WindowEnd)));
            facts.Add((alert.Kind == AlertKind.Resolved ? "Duration" : "Duration so far", AlertEmailComposer.FormatDuration(alert.WindowEnd - first)));
            facts.Add(($"Top principals ({whole})", Counted(f.TopPrincipals)));
            facts.Add(($"Top source IPs ({whole})", Counted(f.TopSourceIps)));
            if (f.Change is { Length: > 0 } change)
            {
                facts.Add(("What changed", change));
            }

            if (alert.EpisodeId is { } episode)
            {
                facts.Add(("Episode opened by firing", episode));
            }
        }
        else if (alert.Alert == AlertName.HttpForbiddenErrorRateHigh)
        {
            if (f.ForbiddenCount is { } count)
            {
                facts.Add(("HTTP 403 responses in the window", count.ToString(CultureInfo.InvariantCulture)));
            }

            facts.Add(("Window", $"{AlertEmailComposer.FormatTime(alert.WindowStart)} to {AlertEmailComposer.FormatTime(alert.WindowEnd)}"));
            facts.Add(("Top principals", Counted(f.TopPrincipals)));
            facts.Add(("Top source IPs", Counted(f.TopSourceIps)));
            facts.Add(("Newest 403 event", $"{Or(f.EventId)} at {AlertEmailComposer.FormatTime(alert.EventTime)}" + (alert.IsLate ? $" (late: received {AlertEmailComposer.FormatTime(alert.TriggeredAt)})" : "")));
        }
        else if (f.Rule is { } rule)
        {
            facts.Add(("Rule", rule.Name));
            facts.Add(("Query", rule.Query));
            facts.Add(("Matches", $"{f.MatchCount?.ToString(CultureInfo.InvariantCulture) ?? "?"} within {AlertEmailComposer.FormatDuration(rule.EvaluationWindow)} (the rule fires at {rule.Occurrences.ToString(CultureInfo.InvariantCulture)})"));
            facts.Add(("Rule severity", rule.Severity.ToString().ToLowerInvariant()));
            facts.Add(("Principal", Or(f.PrincipalId, "(none)")));
            facts.Add(("Source IP", Or(f.SourceIp)));
            facts.Add(("Newest matching event", $"{Or(f.EventId)} at {AlertEmailComposer.FormatTime(alert.EventTime)}" + (alert.IsLate ? $" (late: received {AlertEmailComposer.FormatTime(alert.TriggeredAt)})" : "")));
        }
        else
        {
            facts.Add(("API key (access key)", Or(f.ApiKeyId)));
            facts.Add(("Principal", Or(f.PrincipalId, "(anonymous)")));
            facts.Add(("Source IP", Or(f.SourceIp)));
            facts.Add(("Method", Or(f.MethodName)));
            facts.Add(("HTTP status", f.StatusCode?.ToString(CultureInfo.InvariantCulture) ?? "(unknown)"));
            facts.Add(("Event time", AlertEmailComposer.FormatTime(alert.EventTime) + (alert.IsLate ? $" (late: received {AlertEmailComposer.FormatTime(alert.TriggeredAt)})" : "")));
            facts.Add(("Event id", Or(f.EventId)));
            if (f.UserAgent is { Length: > 0 } agent)
            {
                facts.Add(("User agent", agent));
            }
        }

        return new AlertMessage(alert, AlertCatalog.Describe(alert), facts, link, IncidentLink.For(consoleBaseUrl, alert));
    }

    /// <summary>The one-line summary (the email's subject).</summary>
    public string Title => AlertEmailComposer.Subject(Alert);

    /// <summary>The lines that open the notice: update, resolved, late event, backfill.</summary>
    public IReadOnlyList<string> Banner => AlertEmailComposer.Banner(Alert);

    /// <summary>firing, update, resolved, or test for a Test-AuditAlert notice.</summary>
    public string Kind => Alert.IsTest ? "test" : Alert.Kind.ToString().ToLowerInvariant();

    private static string Or(string? value, string missing = "(unknown)") => string.IsNullOrEmpty(value) ? missing : value;

    private static string Counted(IReadOnlyList<CountedValue> values) =>
        values.Count == 0 ? "(none)" : string.Join(", ", values.Select(static v => $"{v.Value} ({v.Count.ToString(CultureInfo.InvariantCulture)})"));
}
