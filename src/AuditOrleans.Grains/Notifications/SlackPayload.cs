using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// A Slack incoming-webhook message (docs/webhooks.md, Slack): a text fallback and blocks
/// (header, fields, facts, actions, a button to the Audit Trail). Values from events are escaped
/// (&amp;, &lt;, &gt;), so an event cannot mention a channel or forge a link.
/// </summary>
internal static class SlackPayload
{
    /// <summary>Slack's limit for the text of a section block.</summary>
    private const int MaxSectionText = 2900;

    public static byte[] Alert(AlertMessage message)
    {
        var alert = message.Alert;
        var blocks = new List<object>
        {
            Header(message.Title),
        };
        if (alert.IsTest)
        {
            blocks.Add(Section("*Test notification* sent by Test-AuditAlert to check the alert chain. No event triggered it; the facts below are samples."));
        }

        foreach (var line in message.Banner)
        {
            blocks.Add(Section(Escape(line)));
        }

        blocks.Add(new
        {
            type = "section",
            fields = new[]
            {
                Markdown($"*Severity*\n{alert.Severity}"),
                Markdown($"*Project / region*\n{Escape(alert.ProjectId)} / {Escape(alert.Region)}"),
                Markdown($"*Triggered at*\n{AlertEmailComposer.FormatTime(alert.TriggeredAt)}"),
                Markdown($"*Alert*\n{alert.Alert}"),
            },
        });
        blocks.Add(Section($"*Behaviour detected*\n{Escape(message.Definition.Description)}"));
        blocks.Add(Section("*Facts*\n" + string.Join("\n", message.Facts.Select(static f => $"• {Escape(f.Label)}: {Escape(AlertEmailComposer.Plain(f.Value))}"))));
        blocks.Add(Section("*Recommended actions*\n" + string.Join("\n", message.Definition.RecommendedActions.Select(static (a, i) => $"{(i + 1).ToString(CultureInfo.InvariantCulture)}. {Escape(a)}"))));
        blocks.Add(Button(message.Link));
        blocks.Add(Context($"AuditOrleans · firing {alert.Id}"));
        return Serialize(message.Title, blocks);
    }

    public static byte[] Digest(DigestMessage message)
    {
        var blocks = new List<object> { Header(message.Subject), Section(Escape(message.Intro)) };
        var rows = message.Rows.Take(WebhookPayloads.MaxChatRows)
            .Select(static row => "• " + string.Join(" | ", row.Select(static c => $"{Escape(c.Label)}: {Escape(AlertEmailComposer.Plain(c.Value))}")));
        var more = message.Total > Math.Min(message.Rows.Count, WebhookPayloads.MaxChatRows)
            ? $"\n… and {(message.Total - Math.Min(message.Rows.Count, WebhookPayloads.MaxChatRows)).ToString(CultureInfo.InvariantCulture)} more: every match is in the alert history."
            : "";
        blocks.Add(Section("*Events (UTC, oldest first)*\n" + string.Join("\n", rows) + more));
        foreach (var definition in message.Definitions)
        {
            blocks.Add(Section($"*{definition.Name}*: {Escape(definition.Description)}\n" +
                string.Join("\n", definition.RecommendedActions.Select(static (a, i) => $"{(i + 1).ToString(CultureInfo.InvariantCulture)}. {Escape(a)}"))));
        }

        if (message.Links.Count > 0)
        {
            blocks.Add(Button(message.Links[0]));
        }

        blocks.Add(Context($"AuditOrleans · digest {message.Digest.Id}"));
        return Serialize(message.Subject, blocks);
    }

    /// <summary>Slack's three control characters; everything else is shown as written.</summary>
    internal static string Escape(string value)
    {
        var text = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            text.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                _ => c.ToString(),
            });
        }

        return text.ToString();
    }

    private static object Header(string text) => new { type = "header", text = new { type = "plain_text", text = Cut(text, 150), emoji = false } };

    private static object Section(string markdown) => new { type = "section", text = Markdown(Cut(markdown, MaxSectionText)) };

    private static object Markdown(string text) => new { type = "mrkdwn", text };

    private static object Button(string url) => new
    {
        type = "actions",
        elements = new[] { new { type = "button", text = new { type = "plain_text", text = "Open the Audit Trail" }, url } },
    };

    private static object Context(string text) => new { type = "context", elements = new[] { Markdown(Escape(text)) } };

    private static string Cut(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static byte[] Serialize(string fallback, List<object> blocks) =>
        JsonSerializer.SerializeToUtf8Bytes(new { text = Escape(fallback), blocks });
}
