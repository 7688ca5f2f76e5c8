using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using MimeKit;
using static AuditOrleans.Grains.Notifications.EmailParts;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Writes the email of one firing to one recipient (the digest email is
/// <see cref="DigestEmailComposer"/>'s): a plain-text and an HTML part with the
/// time triggered, the behaviour detected and its facts, the severity, the recommended actions
/// and the link to the Audit Trail. Every value that comes from an event is escaped in the
/// HTML part and stripped of control characters in the text part. The same firing and
/// recipient always give the same message (same Message-Id and Date), so a re-delivery is a
/// duplicate receivers can recognise.
/// </summary>
public sealed class AlertEmailComposer(IOptions<AuditOrleansOptions> options)
{
    public const string TestPrefix = "[TEST] ";

    public const string FiringHeader = "X-AuditOrleans-Firing";

    public const string AlertHeader = "X-AuditOrleans-Alert";

    /// <summary>Firing, Update or Resolved (docs/alerts.md, Episodes).</summary>
    public const string KindHeader = "X-AuditOrleans-Kind";

    private const int MaxValueLength = 512;

    public static string Subject(FiredAlert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var prefix = alert.IsTest ? TestPrefix : "";
        return alert.Kind switch
        {
            AlertKind.Update => $"{prefix}[AuditOrleans] {alert.Severity}: {alert.Alert} in {alert.ProjectId}/{alert.Region} goes on (update)",
            AlertKind.Resolved => $"{prefix}[AuditOrleans] Resolved: {alert.Alert} in {alert.ProjectId}/{alert.Region}",
            _ => $"{prefix}[AuditOrleans] {alert.Severity}: {AlertCatalog.DisplayName(alert)} in {alert.ProjectId}/{alert.Region}{(alert.IsLate ? " (late event)" : "")}",
        };
    }

    /// <summary>The lines that open the body: what kind of notice this is, and a late event's times (none for a plain firing).</summary>
    public static IReadOnlyList<string> Banner(FiredAlert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var lines = new List<string>(2);
        var opened = alert.EpisodeId is { } episode ? $" (opened by firing {episode})" : "";
        switch (alert.Kind)
        {
            case AlertKind.Update:
                lines.Add($"UPDATE: the {alert.Alert} episode that started at {FormatTime(alert.Facts.FirstEventTime ?? alert.WindowStart)}{opened} goes on and changed since its last notice: {Plain(alert.Facts.Change ?? "(no detail)")}.");
                break;
            case AlertKind.Resolved:
                lines.Add($"RESOLVED: the {alert.Alert} episode{opened} is over: the rate of HTTP 403 responses fell back to {AlertCatalog.ForbiddenThreshold} or fewer in {AlertCatalog.ForbiddenWindow.TotalMinutes.ToString(CultureInfo.InvariantCulture)} minutes. The facts below cover the whole episode.");
                break;
        }

        if (alert.IsLate)
        {
            lines.Add($"LATE EVENT: the event happened at {FormatTime(alert.EventTime)} and reached AuditOrleans at {FormatTime(alert.TriggeredAt)}, {FormatDuration(alert.TriggeredAt - alert.EventTime)} later.");
        }

        if (alert.IsBackfill)
        {
            lines.Add("BACKFILL: recorded from events sent as history; not a current alert.");
        }

        return lines;
    }

    /// <summary>A duration in words: "3 h 5 min", "12 min 4 s", "40 s".</summary>
    public static string FormatDuration(TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            value = TimeSpan.Zero;
        }

        var parts = new List<string>(3);
        if (value.Days > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{value.Days} d"));
        }

        if (value.Hours > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{value.Hours} h"));
        }

        if (value.Minutes > 0 && value.Days == 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{value.Minutes} min"));
        }

        if (value.TotalHours < 1)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{value.Seconds} s"));
        }

        return string.Join(" ", parts);
    }

    public MimeMessage Compose(FiredAlert alert, string recipient, string messageId)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var settings = options.Value;
        var message = Message(settings, recipient, Subject(alert), alert.TriggeredAt, messageId);
        message.Headers.Add(FiringHeader, alert.Id);
        message.Headers.Add(AlertHeader, alert.Alert.ToString());
        message.Headers.Add(KindHeader, alert.Kind.ToString());
        if (alert.Kind != AlertKind.Firing && alert.EpisodeId is { } episode)
        {
            // Threaded under the email of the firing that opened the episode, in the recipient's mailbox.
            var opening = NotificationStore.MessageId(episode, recipient);
            message.InReplyTo = opening;
            message.References.Add(opening);
        }
        if (alert.Severity == AlertSeverity.High && alert.Kind != AlertKind.Resolved)
        {
            message.Importance = MessageImportance.High;
        }

        var content = AlertMessage.For(alert, settings.Console.BaseUrl);
        var body = new BodyBuilder { TextBody = Text(content), HtmlBody = Html(content) };
        message.Body = body.ToMessageBody();
        return message;
    }

    /// <summary>The time format of the email body (UTC, to the second).</summary>
    public static string FormatTime(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string Text(AlertMessage c)
    {
        var text = new StringBuilder();
        if (c.Alert.IsTest)
        {
            text.AppendLine("TEST NOTIFICATION sent by Test-AuditAlert to check the alert chain. No event triggered it; the facts below are samples.").AppendLine();
        }

        foreach (var line in Banner(c.Alert))
        {
            text.AppendLine(line).AppendLine();
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"Alert:        {AlertCatalog.DisplayName(c.Alert)}");
        if (c.Alert.Kind != AlertKind.Firing)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"Notice:       {c.Alert.Kind}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"Severity:     {c.Alert.Severity}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Project:      {c.Alert.ProjectId}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Region:       {c.Alert.Region}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Triggered at: {FormatTime(c.Alert.TriggeredAt)}");
        text.AppendLine();
        text.AppendLine("Behaviour detected");
        text.AppendLine(c.Definition.Description);
        text.AppendLine();
        text.AppendLine("Facts");
        foreach (var (label, value) in c.Facts)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {label}: {Plain(value)}");
        }

        text.AppendLine();
        text.AppendLine("Recommended actions");
        TextActions(text, c.Definition.RecommendedActions);

        text.AppendLine();
        text.AppendLine("See the events in the Audit Trail:");
        text.AppendLine(c.Link);
        text.AppendLine();
        text.AppendLine("Follow the incident on its timeline (403 rate, the principals' and source IPs' events, API keys, notices):");
        text.AppendLine(c.TimelineLink);
        text.AppendLine();
        TextFooter(text, c.Alert.ProjectId, "Firing", c.Alert.Id);
        return text.ToString();
    }

    private static string Html(AlertMessage c)
    {
        var color = c.Alert.Severity switch
        {
            AlertSeverity.High => "#b00020",
            AlertSeverity.Medium => "#b26a00",
            _ => "#2f6f2f",
        };
        var html = HtmlPage(Subject(c.Alert));
        if (c.Alert.IsTest)
        {
            html.Append("<p style=\"padding:8px;background:#e8f0fe;border:1px solid #9ab\"><strong>Test notification</strong> sent by Test-AuditAlert to check the alert chain. No event triggered it; the facts below are samples.</p>\n");
        }

        foreach (var line in Banner(c.Alert))
        {
            html.Append("<p style=\"padding:8px;background:#fff8e1;border:1px solid #cb9\">").Append(E(line)).Append("</p>\n");
        }

        html.Append("<h2 style=\"margin:0 0 8px 0\">").Append(E(AlertCatalog.DisplayName(c.Alert))).Append("</h2>\n");
        html.Append("<table style=\"border-collapse:collapse\">");
        if (c.Alert.Kind != AlertKind.Firing)
        {
            Row(html, "Notice", E(c.Alert.Kind.ToString()));
        }

        Row(html, "Severity", $"<strong style=\"color:{color}\">{E(c.Alert.Severity.ToString())}</strong>");
        Row(html, "Project", E(c.Alert.ProjectId));
        Row(html, "Region", E(c.Alert.Region));
        Row(html, "Triggered at", E(FormatTime(c.Alert.TriggeredAt)));
        html.Append("</table>\n");
        html.Append("<h3>Behaviour detected</h3><p>").Append(E(c.Definition.Description)).Append("</p>\n");
        html.Append("<h3>Facts</h3><table style=\"border-collapse:collapse\">");
        foreach (var (label, value) in c.Facts)
        {
            Row(html, E(label), E(Plain(value)));
        }

        html.Append("</table>\n<h3>Recommended actions</h3>\n<ol>\n");
        HtmlActions(html, c.Definition.RecommendedActions);
        HtmlLink(html.Append("</ol>\n<p>"), c.Link, "See the events in the Audit Trail").Append("</p>\n");
        HtmlLink(html.Append("<p>"), c.TimelineLink, "Follow the incident on its timeline").Append("</p>\n");
        HtmlFooter(html, c.Alert.ProjectId, "Firing", c.Alert.Id);
        return html.ToString();

        static void Row(StringBuilder html, string label, string valueHtml) =>
            html.Append("<tr><td style=\"padding:2px 12px 2px 0;color:#555;vertical-align:top\">").Append(label)
                .Append("</td><td style=\"padding:2px 0\">").Append(valueHtml).Append("</td></tr>\n");
    }

    /// <summary>A value from an event made safe for a text line: no control characters, bounded length.</summary>
    internal static string Plain(string value) => Scope.Printable(value, MaxValueLength);
}
