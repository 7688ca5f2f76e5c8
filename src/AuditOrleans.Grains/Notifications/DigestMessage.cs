using System.Globalization;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// What a digest says, whatever the channel (docs/alerts.md, Grouping; docs/webhooks.md): the
/// summary, the introduction, one row of labelled cells per firing it carries (at most
/// <see cref="DigestEmailComposer.MaxDigestRows"/>), the definitions of the alerts in it and the
/// Audit Trail links. The digest email and the webhook bodies are rendered from it.
/// </summary>
public sealed record DigestMessage(
    DueDigest Digest,
    string Subject,
    string Intro,
    int Total,
    IReadOnlyList<IReadOnlyList<(string Label, string Value)>> Rows,
    IReadOnlyList<AlertDefinition> Definitions,
    IReadOnlyList<string> Links)
{
    /// <summary>The firings the rows describe, in the same order.</summary>
    public IReadOnlyList<FiredAlert> Firings { get; init; } = [];

    public static DigestMessage For(DueDigest digest, IReadOnlyList<FiredAlert> firings, int total, AuditOrleansOptions settings)
    {
        var interval = settings.Alerts.GroupInterval;
        var intro = digest.Alert is { } alert
            ? $"{alert} matched {total.ToString(CultureInfo.InvariantCulture)} more time(s) in {digest.ProjectId}/{digest.Region} within {Describe(interval)} of the previous notice " +
              $"about it (Alerts:GroupInterval). Each match is below and in the alert history."
            : $"The limit of notices to this contact ({settings.Alerts.MaxEmailsPerContactPerHour.ToString(CultureInfo.InvariantCulture)} an hour, Alerts:MaxEmailsPerContactPerHour) was reached, " +
              $"so these {total.ToString(CultureInfo.InvariantCulture)} alerts of project {digest.ProjectId} waited and come together. Each is below and in the alert history.";
        var merged = digest.Alert is null;
        var rows = firings.Select(f =>
        {
            var facts = f.Facts;
            var row = new List<(string, string)> { ("Time", AlertEmailComposer.FormatTime(f.EventTime)) };
            if (merged)
            {
                row.Add(("Alert", AlertCatalog.DisplayName(f)));
                row.Add(("Region", f.Region));
            }

            row.Add(("Principal", Or(facts.PrincipalId, "(anonymous)")));
            row.Add(("API key", Or(facts.ApiKeyId)));
            row.Add(("Source IP", Or(facts.SourceIp)));
            row.Add(("Call", $"{Or(facts.MethodName)} {facts.StatusCode?.ToString(CultureInfo.InvariantCulture) ?? "?"}"));
            row.Add(("Event id", Or(facts.EventId)));
            return (IReadOnlyList<(string, string)>)row;
        }).ToList();
        var definitions = firings.Select(static f => f.Alert).Append(digest.Alert ?? default).Where(static a => a != default).Distinct().Order().Select(AlertCatalog.Get).ToList();
        var links = firings.GroupBy(static f => (f.Alert, f.Region)).OrderBy(static g => g.Key.Alert).ThenBy(static g => g.Key.Region, StringComparer.Ordinal).Take(10)
            .Select(g => AuditTrailLink.For(settings.Console.BaseUrl, g.First() with
            {
                WindowStart = g.Min(static f => f.WindowStart),
                WindowEnd = g.Max(static f => f.WindowEnd),
            }))
            .ToList();
        return new DigestMessage(digest, DigestEmailComposer.Subject(digest, firings, total), intro, total, rows, definitions, links) { Firings = firings };
    }

    private static string Or(string? value, string missing = "(unknown)") => string.IsNullOrEmpty(value) ? missing : value;

    private static string Describe(TimeSpan interval) =>
        interval.TotalMinutes >= 1 && interval.Seconds == 0 && interval.Milliseconds == 0
            ? $"{interval.TotalMinutes.ToString(CultureInfo.InvariantCulture)} minute(s)"
            : $"{interval.TotalSeconds.ToString(CultureInfo.InvariantCulture)} second(s)";
}
