using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AuditOrleans;

/// <summary>
/// The provider's snake_case JSON form of an audit event (one object per line in exports).
/// Writing is deterministic (fixed property order, no whitespace), so the same event always
/// gives the same bytes: the log's hash chain is computed over this form.
/// </summary>
public static partial class AuditEventJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = false };

    /// <summary>Events nest at most <see cref="IngestLimits.MaxEventJsonReadDepth"/> deep (older versions stored up to two levels more than they accept now).</summary>
    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = IngestLimits.MaxEventJsonReadDepth };

    /// <summary>Formats a timestamp as ISO 8601 UTC with 100 ns precision.</summary>
    public static string FormatTime(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The largest buffer a thread keeps for <see cref="ToText"/>; a larger event's is let go after it.</summary>
    private const int KeptBufferBytes = 256 * 1024;

    // Each thread's buffer and writer for ToText, reused: every stored event is serialized once
    // on the ingestion path, and a new writer over a new stream per event grew and copied its
    // buffers several times, half of what the silo allocated under load (docs/architecture.md,
    // Persistence: what an event costs).
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? threadBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? threadWriter;

    /// <summary>Writes one event as a compact JSON object.</summary>
    public static string Serialize(AuditEvent e) => ToText(e, Write);

    /// <summary>
    /// One line of an export (Export-AuditEvent, the console's download): the stored event with the
    /// region it was routed to and its project, as <see cref="Serialize"/> writes it.
    /// </summary>
    public static string SerializeRecord(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Serialize(record.Event with { Region = record.Region, ProjectId = record.Event.ProjectId ?? record.ProjectId });
    }

    /// <summary>
    /// Writes one event to a JSON writer. An API event is the plain object (as before event kinds
    /// existed, byte for byte); an authentication or system event is wrapped as the provider's
    /// combined listing wraps it, <c>{"auth": {...}}</c> or <c>{"system": {...}}</c>, so that the
    /// stored and exported form says its kind (docs/events.md, Event kinds).
    /// </summary>
    public static void Write(Utf8JsonWriter w, AuditEvent e)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(e);
        if (e.Kind == EventKind.Api)
        {
            WriteBody(w, e);
            return;
        }

        w.WriteStartObject();
        w.WritePropertyName(EnvelopeName(e.Kind));
        WriteBody(w, e);
        w.WriteEndObject();
    }

    /// <summary>The key of the provider's combined envelope for a kind: <c>api</c>, <c>auth</c> or <c>system</c>.</summary>
    public static string EnvelopeName(EventKind kind) => kind switch
    {
        EventKind.Authentication => "auth",
        EventKind.System => "system",
        _ => "api",
    };

    private static void WriteBody(Utf8JsonWriter w, AuditEvent e)
    {
        w.WriteStartObject();
        WriteString(w, "id", e.Id);
        if (e.RecordedAt is { } at)
        {
            w.WriteString("recorded_at", FormatTime(at));
        }

        WriteString(w, "locality", e.Locality);
        WriteString(w, "region", e.Region);
        if (e.PrincipalId is not null)
        {
            w.WriteStartObject("principal");
            w.WriteString("id", e.PrincipalId);
            w.WriteEndObject();
        }

        WriteString(w, "organization_id", e.OrganizationId);
        WriteString(w, "project_id", e.ProjectId);
        WriteString(w, "source_ip", e.SourceIp);
        WriteString(w, "user_agent", e.UserAgent);
        WriteString(w, "product_name", e.ProductName);
        WriteString(w, "service_name", e.ServiceName);
        WriteString(w, "method_name", e.MethodName);
        WriteString(w, "request_id", e.RequestId);
        if (e.RequestBody is not null)
        {
            w.WritePropertyName("request_body");
            w.WriteRawValue(e.RequestBody, skipInputValidation: false);
        }

        if (e.StatusCode is { } status)
        {
            w.WriteNumber("status_code", status);
        }

        WriteString(w, "result", e.Result);
        WriteString(w, "failure_reason", e.FailureReason);
        WriteString(w, "method", e.Method);
        WriteString(w, "origin", e.Origin);
        WriteString(w, "mfa_type", e.MfaType);
        WriteString(w, "country_code", e.CountryCode);
        WriteString(w, "kind", e.SystemKind);
        WriteString(w, "source", e.Source);
        WriteString(w, "system_name", e.SystemName);
        if (e.Resources is { } resources)
        {
            w.WritePropertyName("resources");
            WriteResources(w, resources);
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// The resources of an event as the provider's JSON array (each with its extra fields), as
    /// the <c>resources</c> member of <see cref="Serialize"/> writes them.
    /// </summary>
    public static string SerializeResources(IReadOnlyList<AuditResource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        return ToText(resources, WriteResources);
    }

    /// <summary>What <paramref name="write"/> writes of <paramref name="value"/>, as text, through this thread's reused buffer and writer.</summary>
    private static string ToText<T>(T value, Action<Utf8JsonWriter, T> write)
    {
        var buffer = threadBuffer ??= new ArrayBufferWriter<byte>(4096);
        var w = threadWriter ??= new Utf8JsonWriter(buffer, WriterOptions);
        buffer.ResetWrittenCount();
        w.Reset(buffer);
        try
        {
            write(w, value);
            w.Flush();
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        finally
        {
            if (buffer.Capacity > KeptBufferBytes)
            {
                threadBuffer = null;
                threadWriter = null;
            }
        }
    }

    private static void WriteResources(Utf8JsonWriter w, IReadOnlyList<AuditResource> resources)
    {
        w.WriteStartArray();
        foreach (var r in resources)
        {
            w.WriteStartObject();
            WriteString(w, "id", r.Id);
            WriteString(w, "type", r.Type);
            WriteString(w, "name", r.Name);
            if (r.Details is not null)
            {
                using var details = JsonDocument.Parse(r.Details, ReadOptions);
                foreach (var p in details.RootElement.EnumerateObject())
                {
                    p.WriteTo(w);
                }
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteString(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }
}
