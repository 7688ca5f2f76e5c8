using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AuditOrleans;

/// <summary>Reading the provider's JSON form of an audit event (see the writing half for the format).</summary>
public static partial class AuditEventJson
{
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
}
