using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using MimeKit;
using static AuditOrleans.Grains.Notifications.AlertEmailComposer;
using static AuditOrleans.Grains.Notifications.EmailParts;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Writes the digest email of one recipient (docs/alerts.md, Grouping and The email cap): the
/// firings a digest carries, one line each, the recommended actions of their alerts and the
/// links to the audit log, in a plain-text and an HTML part. Every value that comes from an event
/// is escaped in the HTML part and stripped of control characters in the text part. The same
/// digest always gives the same message (Message-Id, Date).
/// </summary>
public sealed class DigestEmailComposer(IOptions<AuditOrleansOptions> options)
{
    public const string DigestHeader = "X-AuditOrleans-Digest";

    /// <summary>Most events a digest lists; the rest are counted and in the alert history.</summary>
    public const int MaxDigestRows = 1000;

    /// <summary>The subject of a digest: the group's alert and project-region, or for a merged digest the project.</summary>
    public static string Subject(DueDigest digest, IReadOnlyList<FiredAlert> firings, int total)
    {
        ArgumentNullException.ThrowIfNull(digest);
        ArgumentNullException.ThrowIfNull(firings);
        var severity = firings.Count == 0 ? AlertSeverity.Medium : firings.Max(static f => f.Severity);
        var matches = total == 1 ? "1 more match" : $"{total.ToString(CultureInfo.InvariantCulture)} more matches";
        return digest.Alert is { } alert
            ? $"[AuditOrleans] {severity}: {alert} in {digest.ProjectId}/{digest.Region}: {matches} (digest)"
            : $"[AuditOrleans] {severity}: {total.ToString(CultureInfo.InvariantCulture)} alerts in {digest.ProjectId} (digest, email limit reached)";
    }

    /// <summary>
    /// The digest email of one recipient: every firing it carries, one line each (event time,
    /// alert, region, principal, API key, source IP, method and status, event id), at most
    /// <see cref="MaxDigestRows"/>, then the recommended actions of the alerts and the links to
    /// the audit log.
    /// </summary>
    public MimeMessage Compose(DueDigest digest, IReadOnlyList<FiredAlert> firings, int total)
    {
        ArgumentNullException.ThrowIfNull(digest);
        ArgumentNullException.ThrowIfNull(firings);
        var settings = options.Value;
        var message = Message(settings, digest.Recipient, Subject(digest, firings, total), digest.DueAt, digest.MessageId);
        message.Headers.Add(DigestHeader, digest.Id);
        if (digest.Alert is { } alert)
        {
            message.Headers.Add(AlertHeader, alert.ToString());
        }

        if (firings.Any(static f => f.Severity == AlertSeverity.High))
        {
            message.Importance = MessageImportance.High;
        }

        var content = DigestMessage.For(digest, firings, total, settings);
        message.Body = new BodyBuilder { TextBody = Text(content), HtmlBody = Html(content) }.ToMessageBody();
        return message;
    }

    private static string Text(DigestMessage c)
    {
        var text = new StringBuilder();
        text.AppendLine(c.Intro).AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Project:      {c.Digest.ProjectId}");
        if (c.Digest.Region is { } region)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"Region:       {region}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"Matches:      {c.Total.ToString(CultureInfo.InvariantCulture)}");
        text.AppendLine();
        text.AppendLine("Events (UTC, oldest first)");
        foreach (var row in c.Rows)
        {
            text.AppendLine("- " + string.Join(" | ", row.Select(static cell => $"{cell.Label}: {Plain(cell.Value)}")));
        }

        if (c.Total > c.Rows.Count)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"... and {(c.Total - c.Rows.Count).ToString(CultureInfo.InvariantCulture)} more: every match is in the alert history (Get-AuditAlertHistory).");
        }

        foreach (var definition in c.Definitions)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"{definition.Name}: {definition.Description}");
            text.AppendLine("Recommended actions");
            TextActions(text, definition.RecommendedActions);
        }

        text.AppendLine();
        text.AppendLine("See the events in the Audit Trail:");
        foreach (var link in c.Links)
        {
            text.AppendLine(link);
        }

        text.AppendLine();
        TextFooter(text, c.Digest.ProjectId, "Digest", c.Digest.Id);
        return text.ToString();
    }

    private static string Html(DigestMessage c)
    {
        var html = HtmlPage(c.Subject);
        html.Append("<p>").Append(E(c.Intro)).Append("</p>\n");
        html.Append("<table style=\"border-collapse:collapse;font-size:13px\"><thead><tr>");
        foreach (var (label, _) in c.Rows.Count > 0 ? c.Rows[0] : [])
        {
            html.Append("<th style=\"text-align:left;padding:2px 8px;border-bottom:1px solid #999\">").Append(E(label)).Append("</th>");
        }

        html.Append("</tr></thead><tbody>\n");
        foreach (var row in c.Rows)
        {
            html.Append("<tr>");
            foreach (var (_, value) in row)
            {
                html.Append("<td style=\"padding:2px 8px;vertical-align:top\">").Append(E(Plain(value))).Append("</td>");
            }

            html.Append("</tr>\n");
        }

        html.Append("</tbody></table>\n");
        if (c.Total > c.Rows.Count)
        {
            html.Append("<p>... and ").Append((c.Total - c.Rows.Count).ToString(CultureInfo.InvariantCulture))
                .Append(" more: every match is in the alert history (Get-AuditAlertHistory).</p>\n");
        }

        foreach (var definition in c.Definitions)
        {
            html.Append("<h3>").Append(E(definition.Name.ToString())).Append("</h3><p>").Append(E(definition.Description)).Append("</p>\n<ol>\n");
            HtmlActions(html, definition.RecommendedActions);
            html.Append("</ol>\n");
        }

        html.Append("<p>");
        foreach (var link in c.Links)
        {
            HtmlLink(html, link, "See the events in the Audit Trail").Append("<br>");
        }

        html.Append("</p>\n");
        HtmlFooter(html, c.Digest.ProjectId, "Digest", c.Digest.Id);
        return html.ToString();
    }
}
