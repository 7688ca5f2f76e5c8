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
public static class AuditEventJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = false };

    /// <summary>Events nest at most <see cref="IngestLimits.MaxEventJsonReadDepth"/> deep (older versions stored up to two levels more than they accept now).</summary>
    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = IngestLimits.MaxEventJsonReadDepth };

    /// <summary>Formats a timestamp as ISO 8601 UTC with 100 ns precision.</summary>
    public static string FormatTime(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The largest buffer a thread keeps for <see cref="Serialize"/>; a larger event's is let go after it.</summary>
    private const int KeptBufferBytes = 256 * 1024;

    // Each thread's buffer and writer for Serialize, reused: every stored event is serialized once
    // on the ingestion path, and a new writer over a new stream per event grew and copied its
    // buffers several times, half of what the silo allocated under load (docs/architecture.md,
    // Persistence: what an event costs).
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? threadBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? threadWriter;

    /// <summary>Writes one event as a compact JSON object.</summary>
    public static string Serialize(AuditEvent e)
    {
        var buffer = threadBuffer ??= new ArrayBufferWriter<byte>(4096);
        var w = threadWriter ??= new Utf8JsonWriter(buffer, WriterOptions);
        buffer.ResetWrittenCount();
        w.Reset(buffer);
        try
        {
            Write(w, e);
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
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteResources(w, resources);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
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

    /// <summary>
    /// Reads one event in the provider's format. Accepts the nested <c>principal.id</c> and a flat
    /// <c>principal_id</c>; an empty <c>source_ip</c> means absent. Reads events nested up to
    /// <see cref="IngestLimits.MaxEventJsonReadDepth"/> deep, every stored event included; the
    /// silo refuses to store one deeper than <see cref="IngestLimits.MaxEventJsonDepth"/>.
    /// </summary>
    /// <exception cref="FormatException">The text is not a JSON object or a field has the wrong JSON type; the message names the field.</exception>
    public static AuditEvent Parse(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, ReadOptions);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The event is not valid JSON: {ex.Message}", ex);
        }
        catch (ArgumentException ex) when (ex is not ArgumentNullException)
        {
            // Raw text that cannot be transcoded to UTF-8 (an unpaired UTF-16 surrogate).
            throw new FormatException($"The event is not valid Unicode text: {ex.Message}", ex);
        }

        using (doc)
        {
            return FromElement(doc.RootElement);
        }
    }

    /// <summary>Reads one event from a parsed JSON object.</summary>
    /// <exception cref="FormatException">The element is not an event object or a field has the wrong JSON type or is not Unicode text; the message names the field.</exception>
    public static AuditEvent FromElement(JsonElement o)
    {
        try
        {
            return ReadEvent(o);
        }
        catch (InvalidOperationException ex)
        {
            // JsonElement throws this for a string escape that is not Unicode text (\ud800 alone).
            throw new FormatException($"The event contains text that is not valid Unicode (an escaped unpaired surrogate such as \\ud800): {ex.Message}", ex);
        }
    }

    private static AuditEvent ReadEvent(JsonElement o)
    {
        if (o.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("An event must be a JSON object.");
        }

        if (Envelope(o) is { } wrapped)
        {
            if (wrapped.Body.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"The {EnvelopeName(wrapped.Kind)} member of the combined envelope must be an event object.");
            }

            return ReadEvent(wrapped.Body, wrapped.Kind);
        }

        return ReadEvent(o, null);
    }

    /// <summary>
    /// The kind and body of an event in the provider's combined envelope (an object whose only
    /// member is <c>api</c>, <c>auth</c> or <c>system</c>), or null for a plain event.
    /// </summary>
    private static (EventKind Kind, JsonElement Body)? Envelope(JsonElement o)
    {
        using var members = o.EnumerateObject();
        if (!members.MoveNext())
        {
            return null;
        }

        var first = members.Current;
        if (members.MoveNext())
        {
            return null;
        }

        return first.Name switch
        {
            "api" => (EventKind.Api, first.Value),
            "auth" => (EventKind.Authentication, first.Value),
            "system" => (EventKind.System, first.Value),
            _ => null,
        };
    }

    /// <summary>
    /// The kind of a plain (unwrapped) event from its fields: a status code makes an API event;
    /// otherwise the provider's system kinds (<c>kind</c> cron or notification), <c>system_name</c>
    /// or <c>source</c> make a system event, and <c>result</c>, <c>failure_reason</c>,
    /// <c>mfa_type</c> or <c>country_code</c> an authentication event (docs/events.md, Event kinds).
    /// </summary>
    public static EventKind InferKind(bool hasStatusCode, string? systemKind, bool hasSystemFields, bool hasAuthenticationFields) =>
        hasStatusCode ? EventKind.Api
        : hasSystemFields || systemKind is not null ? EventKind.System
        : hasAuthenticationFields ? EventKind.Authentication
        : EventKind.Api;

    private static AuditEvent ReadEvent(JsonElement o, EventKind? kind)
    {

        string? principal = null;
        if (o.TryGetProperty("principal", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            principal = GetString(p, "id", "principal.id");
        }

        principal ??= GetString(o, "principal_id");

        DateTimeOffset? recordedAt = null;
        if (GetString(o, "recorded_at") is { } at)
        {
            recordedAt = ParseTime(at) ?? throw new FormatException($"recorded_at '{Scope.Printable(at)}' is not an ISO 8601 timestamp.");
        }

        int? status = null;
        if (o.TryGetProperty("status_code", out var s) && s.ValueKind != JsonValueKind.Null)
        {
            status = s.ValueKind switch
            {
                JsonValueKind.Number when s.TryGetInt32(out var n) => n,
                JsonValueKind.String when int.TryParse(s.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) => n,
                _ => throw new FormatException("status_code must be an integer."),
            };
        }

        string? body = null;
        if (o.TryGetProperty("request_body", out var b) && b.ValueKind != JsonValueKind.Null)
        {
            body = b.GetRawText();
        }

        List<AuditResource>? resources = null;
        if (o.TryGetProperty("resources", out var rs) && rs.ValueKind == JsonValueKind.Array)
        {
            resources = [];
            foreach (var r in rs.EnumerateArray())
            {
                resources.Add(ResourceFromElement(r));
            }
        }

        var sourceIp = GetString(o, "source_ip");
        var systemKind = GetString(o, "kind");
        var result = GetString(o, "result");
        var failureReason = GetString(o, "failure_reason");
        var method = GetString(o, "method");
        var origin = GetString(o, "origin");
        var mfaType = GetString(o, "mfa_type");
        var countryCode = GetString(o, "country_code");
        var source = GetString(o, "source");
        var systemName = GetString(o, "system_name");
        kind ??= InferKind(status is not null, systemKind, source is not null || systemName is not null,
            result is not null || failureReason is not null || mfaType is not null || countryCode is not null);

        // Before event kinds these keys were no event fields and were ignored on API events: they still are.
        var other = kind != EventKind.Api;
        return new AuditEvent
        {
            Kind = kind.Value,
            Result = other ? result : null,
            FailureReason = other ? failureReason : null,
            Method = other ? method : null,
            Origin = other ? origin : null,
            MfaType = other ? mfaType : null,
            CountryCode = other ? countryCode : null,
            SystemKind = other ? systemKind : null,
            Source = other ? source : null,
            SystemName = other ? systemName : null,
            Id = GetString(o, "id"),
            RecordedAt = recordedAt,
            Locality = GetString(o, "locality"),
            Region = GetString(o, "region"),
            OrganizationId = GetString(o, "organization_id"),
            ProjectId = GetString(o, "project_id"),
            PrincipalId = principal,
            SourceIp = string.IsNullOrEmpty(sourceIp) ? null : sourceIp,
            UserAgent = GetString(o, "user_agent"),
            ProductName = GetString(o, "product_name"),
            ServiceName = GetString(o, "service_name"),
            MethodName = GetString(o, "method_name"),
            RequestId = GetString(o, "request_id"),
            RequestBody = body,
            StatusCode = status,
            Resources = resources,
        };
    }

    /// <summary>Reads one resource object; fields other than id, type and name are kept in <see cref="AuditResource.Details"/>.</summary>
    public static AuditResource ResourceFromElement(JsonElement r)
    {
        if (r.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("Each entry of resources must be an object with id, type and name.");
        }

        string? details = null;
        var extra = r.EnumerateObject().Where(static p => p.Name is not ("id" or "type" or "name")).ToList();
        if (extra.Count > 0)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                foreach (var p in extra)
                {
                    p.WriteTo(w);
                }

                w.WriteEndObject();
            }

            details = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }

        return new AuditResource
        {
            Id = GetString(r, "id", "resources[].id"),
            Type = GetString(r, "type", "resources[].type"),
            Name = GetString(r, "name", "resources[].name"),
            Details = details,
        };
    }

    /// <summary>Parses an ISO 8601 timestamp with up to 9 fractional digits; a value without offset is UTC.</summary>
    public static DateTimeOffset? ParseTime(string text)
    {
        var t = text.Trim();

        // .NET keeps 7 fractional digits: cut nanoseconds down to 100 ns before parsing.
        var dot = t.IndexOf('.');
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < t.Length && char.IsAsciiDigit(t[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                t = string.Concat(t.AsSpan(0, dot + 8), t.AsSpan(end));
            }
        }

        return DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            ? value
            : null;
    }

    private static string? GetString(JsonElement o, string name, string? field = null)
    {
        if (!o.TryGetProperty(name, out var v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Null => null,
            JsonValueKind.Number => v.GetRawText(),
            _ => throw new FormatException($"{field ?? name} must be a string."),
        };
    }

    private static void WriteString(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }
}
