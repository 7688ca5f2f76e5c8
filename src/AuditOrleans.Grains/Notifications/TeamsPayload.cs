using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// A Microsoft Teams message carrying an Adaptive Card 1.4 (docs/webhooks.md, Teams), as Teams
/// Workflows webhooks take it: title, fact sets, recommended actions and a button to the Audit
/// Trail. Values from events are escaped for the card's Markdown, so an event cannot add a link.
/// </summary>
internal static class TeamsPayload
{
    public static byte[] Alert(AlertMessage message)
    {
        var alert = message.Alert;
        var body = new List<object>
        {
            new { type = "TextBlock", text = Escape(message.Title), weight = "Bolder", size = "Medium", wrap = true, color = alert.Severity == AlertSeverity.High && alert.Kind != AlertKind.Resolved ? "Attention" : "Default" },
        };
        if (alert.IsTest)
        {
            body.Add(Text("**Test notification** sent by Test-AuditAlert to check the alert chain. No event triggered it; the facts below are samples."));
        }

        body.AddRange(message.Banner.Select(static line => Text(Escape(line))));
        body.Add(Facts([
            ("Severity", alert.Severity.ToString()),
            ("Project", alert.ProjectId),
            ("Region", alert.Region),
            ("Triggered at", AlertEmailComposer.FormatTime(alert.TriggeredAt)),
        ]));
        body.Add(Title("Behaviour detected"));
        body.Add(Text(Escape(message.Definition.Description)));
        body.Add(Title("Facts"));
        body.Add(Facts(message.Facts));
        body.Add(Title("Recommended actions"));
        body.Add(Text(Numbered(message.Definition.RecommendedActions)));
        body.Add(new { type = "TextBlock", text = Escape($"AuditOrleans · firing {alert.Id}"), size = "Small", isSubtle = true, wrap = true });
        return Serialize(body, message.Link);
    }

    public static byte[] Digest(DigestMessage message)
    {
        var body = new List<object>
        {
            new { type = "TextBlock", text = Escape(message.Subject), weight = "Bolder", size = "Medium", wrap = true, color = "Default" },
            Text(Escape(message.Intro)),
        };
        foreach (var row in message.Rows.Take(WebhookPayloads.MaxChatRows))
        {
            body.Add(Text("- " + string.Join(" | ", row.Select(static c => $"{Escape(c.Label)}: {Escape(AlertEmailComposer.Plain(c.Value))}"))));
        }

        var shown = Math.Min(message.Rows.Count, WebhookPayloads.MaxChatRows);
        if (message.Total > shown)
        {
            body.Add(Text($"… and {(message.Total - shown).ToString(CultureInfo.InvariantCulture)} more: every match is in the alert history."));
        }

        foreach (var definition in message.Definitions)
        {
            body.Add(Title(definition.Name.ToString()));
            body.Add(Text(Escape(definition.Description)));
            body.Add(Text(Numbered(definition.RecommendedActions)));
        }

        body.Add(new { type = "TextBlock", text = Escape($"AuditOrleans · digest {message.Digest.Id}"), size = "Small", isSubtle = true, wrap = true });
        return Serialize(body, message.Links.Count > 0 ? message.Links[0] : null);
    }

    /// <summary>Backslash before every character the card's Markdown gives a meaning to.</summary>
    internal static string Escape(string value)
    {
        var text = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (c is '\\' or '*' or '_' or '[' or ']' or '(' or ')' or '`' or '~' or '#' or '>' or '<' or '!' or '|')
            {
                text.Append('\\');
            }

            text.Append(c);
        }

        return text.ToString();
    }

    private static string Numbered(IReadOnlyList<string> items) =>
        string.Join("\r", items.Select(static (a, i) => $"{(i + 1).ToString(CultureInfo.InvariantCulture)}. {Escape(a)}"));

    private static object Title(string text) => new { type = "TextBlock", text = Escape(text), weight = "Bolder", wrap = true, spacing = "Medium" };

    private static object Text(string text) => new { type = "TextBlock", text, wrap = true };

    private static object Facts(IEnumerable<(string Label, string Value)> facts) => new
    {
        type = "FactSet",
        facts = facts.Select(static f => new { title = Escape(f.Label), value = Escape(AlertEmailComposer.Plain(f.Value)) }).ToArray(),
    };

    private static byte[] Serialize(List<object> body, string? link)
    {
        var card = new Dictionary<string, object?>
        {
            ["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json",
            ["type"] = "AdaptiveCard",
            ["version"] = "1.4",
            ["body"] = body,
            ["actions"] = link is null ? Array.Empty<object>() : new object[] { new { type = "Action.OpenUrl", title = "Open the Audit Trail", url = link } },
        };
        return JsonSerializer.SerializeToUtf8Bytes(new
        {
            type = "message",
            attachments = new[] { new { contentType = "application/vnd.microsoft.card.adaptive", contentUrl = (string?)null, content = card } },
        });
    }
}
