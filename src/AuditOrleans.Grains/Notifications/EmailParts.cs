using System.Globalization;
using System.Net;
using System.Text;
using MimeKit;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// What the alert email and the digest email share: the message and its common headers, the
/// HTML page around the body, the recommended actions, the links to the Audit Trail and the
/// footer. Values from events are escaped in HTML (<see cref="E"/>) and made printable in text
/// (<see cref="AlertEmailComposer.Plain"/>) by the composers.
/// </summary>
internal static class EmailParts
{
    private const string SmallGrey = "font-size:12px;color:#555";

    /// <summary>
    /// A message from <c>Smtp:From</c> to <paramref name="recipient"/>, marked auto-generated;
    /// the same arguments always give the same Message-Id and Date.
    /// </summary>
    internal static MimeMessage Message(AuditOrleansOptions settings, string recipient, string subject, DateTimeOffset date, string messageId)
    {
        if (!MailboxAddress.TryParse(settings.Smtp.From, out var from))
        {
            throw new InvalidOperationException(
                $"{AuditOrleansOptions.SectionName}:Smtp:From '{settings.Smtp.From}' is not an email address: use 'Name <address@example.com>'.");
        }

        var message = new MimeMessage();
        message.From.Add(from);
        message.To.Add(MailboxAddress.Parse(recipient));
        message.Subject = subject;
        message.Date = date;
        message.MessageId = messageId;
        message.Headers.Add("Auto-Submitted", "auto-generated");
        return message;
    }

    /// <summary>HTML-escapes a value (null is empty).</summary>
    internal static string E(string? value) => WebUtility.HtmlEncode(value ?? "");

    /// <summary>The HTML page up to the opening of its body, titled <paramref name="title"/>.</summary>
    internal static StringBuilder HtmlPage(string title) =>
        new StringBuilder()
            .Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title></head>\n")
            .Append("<body style=\"font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1a1a1a\">\n");

    /// <summary>The recommended actions, numbered, one line each.</summary>
    internal static void TextActions(StringBuilder text, IReadOnlyList<string> actions)
    {
        for (var i = 0; i < actions.Count; i++)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{i + 1}. {actions[i]}");
        }
    }

    /// <summary>The recommended actions as the items of an ordered list.</summary>
    internal static void HtmlActions(StringBuilder html, IEnumerable<string> actions)
    {
        foreach (var action in actions)
        {
            html.Append("<li>").Append(E(action)).Append("</li>\n");
        }
    }

    /// <summary>A link under its caption, with the address spelled out below for mail readers that hide links.</summary>
    internal static StringBuilder HtmlLink(StringBuilder html, string href, string caption) =>
        html.Append("<a href=\"").Append(E(href)).Append("\">").Append(caption).Append("</a><br><span style=\"").Append(SmallGrey).Append("\">")
            .Append(E(href)).Append("</span>");

    /// <summary>The signature of the text part: who sent it to whom, and the firing's or digest's id.</summary>
    internal static void TextFooter(StringBuilder text, string projectId, string what, string id)
    {
        text.AppendLine("-- ");
        text.AppendLine(CultureInfo.InvariantCulture, $"Sent by AuditOrleans to the Security contacts of project {projectId}. {what} {id}.");
    }

    /// <summary>The signature of the HTML part, and the end of the page.</summary>
    internal static void HtmlFooter(StringBuilder html, string projectId, string what, string id) =>
        html.Append("<p style=\"").Append(SmallGrey).Append("\">Sent by AuditOrleans to the Security contacts of project ")
            .Append(E(projectId)).Append(". ").Append(what).Append(' ').Append(E(id)).Append(".</p></body></html>");
}
