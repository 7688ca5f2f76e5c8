using System.Text.Encodings.Web;
using System.Text.Json;

namespace AuditOrleans.Grains.Notifications;

/// <summary>The AuditOrleans JSON document, version 1 (docs/webhooks.md, The JSON document).</summary>
internal static class JsonPayload
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.Default, Indented = false };

    public static byte[] Alert(AlertMessage message, string webhookId)
    {
        var alert = message.Alert;
        return Write(w =>
        {
            w.WriteNumber("version", WebhookPayloads.Version);
            w.WriteString("kind", message.Kind);
            w.WriteString("id", webhookId);
            w.WriteString("firing_id", alert.Id);
            w.WriteString("summary", message.Title);
            w.WriteString("project_id", alert.ProjectId);
            w.WriteString("region", alert.Region);
            w.WriteString("severity", alert.Severity.ToString());
            WriteAlert(w, message.Definition);
            w.WriteString("triggered_at", alert.TriggeredAt.UtcDateTime);
            w.WriteString("event_time", alert.EventTime.UtcDateTime);
            w.WriteStartObject("time_frame");
            w.WriteString("start", alert.WindowStart.UtcDateTime);
            w.WriteString("end", alert.WindowEnd.UtcDateTime);
            w.WriteEndObject();
            w.WriteBoolean("test", alert.IsTest);
            w.WriteBoolean("late", alert.IsLate);
            w.WriteBoolean("backfill", alert.IsBackfill);
            if (alert.EpisodeId is { } episode)
            {
                w.WriteString("episode_id", episode);
            }
            else
            {
                w.WriteNull("episode_id");
            }

            w.WriteStartArray("notes");
            foreach (var line in message.Banner)
            {
                w.WriteStringValue(line);
            }

            w.WriteEndArray();
            WriteFacts(w, alert);
            w.WriteStartArray("fact_lines");
            foreach (var (label, value) in message.Facts)
            {
                w.WriteStartObject();
                w.WriteString("label", label);
                w.WriteString("value", AlertEmailComposer.Plain(value));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("recommended_actions");
            foreach (var action in message.Definition.RecommendedActions)
            {
                w.WriteStringValue(action);
            }

            w.WriteEndArray();
            w.WriteString("audit_log_url", message.Link);
            w.WriteString("timeline_url", message.TimelineLink);
        });
    }

    public static byte[] Digest(DigestMessage message, string webhookId)
    {
        var digest = message.Digest;
        var firings = message.Firings.Take(WebhookPayloads.MaxDigestFirings).ToList();
        return Write(w =>
        {
            w.WriteNumber("version", WebhookPayloads.Version);
            w.WriteString("kind", "digest");
            w.WriteString("id", webhookId);
            w.WriteString("digest_id", digest.Id);
            w.WriteString("summary", message.Subject);
            w.WriteString("project_id", digest.ProjectId);
            if (digest.Region is { } region)
            {
                w.WriteString("region", region);
            }
            else
            {
                w.WriteNull("region");
            }

            w.WriteString("severity", (message.Firings.Count == 0 ? AlertSeverity.Medium : message.Firings.Max(static f => f.Severity)).ToString());
            if (digest.Alert is { } name)
            {
                WriteAlert(w, AlertCatalog.Get(name));
            }
            else
            {
                w.WriteNull("alert");
            }

            if (message.Firings.Count > 0)
            {
                w.WriteStartObject("time_frame");
                w.WriteString("start", message.Firings.Min(static f => f.WindowStart).UtcDateTime);
                w.WriteString("end", message.Firings.Max(static f => f.WindowEnd).UtcDateTime);
                w.WriteEndObject();
            }

            w.WriteString("intro", message.Intro);
            w.WriteNumber("total", message.Total);
            w.WriteBoolean("truncated", message.Total > firings.Count);
            w.WriteStartArray("firings");
            foreach (var firing in firings)
            {
                w.WriteStartObject();
                w.WriteString("firing_id", firing.Id);
                w.WriteString("alert", firing.Alert.ToString());
                Text(w, "rule", firing.Facts.Rule?.Name);
                w.WriteString("severity", firing.Severity.ToString());
                w.WriteString("region", firing.Region);
                w.WriteString("triggered_at", firing.TriggeredAt.UtcDateTime);
                w.WriteString("event_time", firing.EventTime.UtcDateTime);
                w.WriteBoolean("late", firing.IsLate);
                WriteFacts(w, firing);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("recommended_actions");
            foreach (var definition in message.Definitions)
            {
                w.WriteStartObject();
                w.WriteString("alert", definition.Name.ToString());
                w.WriteStartArray("actions");
                foreach (var action in definition.RecommendedActions)
                {
                    w.WriteStringValue(action);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("audit_log_urls");
            foreach (var link in message.Links)
            {
                w.WriteStringValue(link);
            }

            w.WriteEndArray();
        });
    }

    private static void WriteAlert(Utf8JsonWriter w, AlertDefinition definition)
    {
        w.WriteStartObject("alert");
        w.WriteString("name", definition.Name.ToString());
        w.WriteString("description", definition.Description);
        w.WriteString("severity", definition.Severity.ToString());
        w.WriteEndObject();
    }

    /// <summary>Writes a text property, or nothing when the value is absent.</summary>
    private static void Text(Utf8JsonWriter w, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            w.WriteString(name, value);
        }
    }

    /// <summary>The facts as typed values; a fact the firing does not have is left out.</summary>
    private static void WriteFacts(Utf8JsonWriter w, FiredAlert alert)
    {
        var f = alert.Facts;
        w.WriteStartObject("facts");
        Text(w, "event_id", f.EventId);
        Text(w, "rule", f.Rule?.Name);
        Text(w, "rule_query", f.Rule?.Query);
        Text(w, "api_key_id", f.ApiKeyId);
        Text(w, "principal_id", f.PrincipalId);
        Text(w, "source_ip", f.SourceIp);
        Text(w, "method_name", f.MethodName);
        if (f.StatusCode is { } status)
        {
            w.WriteNumber("status_code", status);
        }

        Text(w, "user_agent", f.UserAgent);
        if (f.ForbiddenCount is { } count)
        {
            w.WriteNumber("forbidden_count", count);
        }

        if (alert.Alert == AlertName.HttpForbiddenErrorRateHigh)
        {
            Counted(w, "top_principals", f.TopPrincipals);
            Counted(w, "top_source_ips", f.TopSourceIps);
        }

        if (f.FirstEventTime is { } first)
        {
            w.WriteString("first_event_time", first.UtcDateTime);
        }

        Text(w, "change", f.Change);
        w.WriteEndObject();

        static void Counted(Utf8JsonWriter w, string name, IReadOnlyList<CountedValue> values)
        {
            w.WriteStartArray(name);
            foreach (var value in values)
            {
                w.WriteStartObject();
                w.WriteString("value", value.Value);
                w.WriteNumber("count", value.Count);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
