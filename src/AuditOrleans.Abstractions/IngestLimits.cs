using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AuditOrleans;

/// <summary>
/// The size limits of event ingestion, shared by the silo (which enforces them) and clients
/// (which split their batches so that they stay under them). Lengths of text fields are in
/// characters (UTF-16 code units); JSON documents, events and batches are measured in bytes of
/// UTF-8 text.
/// </summary>
public static class IngestLimits
{
    /// <summary>Events in one call to <see cref="IIngestGrain.IngestAsync(string, IReadOnlyList{AuditEvent})"/>.</summary>
    public const int MaxBatchEvents = 5000;

    /// <summary>UTF-8 bytes of text of all the events of one call (<see cref="Measure"/>).</summary>
    public const int MaxBatchBytes = 16 * 1024 * 1024;

    /// <summary>UTF-8 bytes of text of one event, all its fields together (<see cref="Measure"/>).</summary>
    public const int MaxEventBytes = 256 * 1024;

    /// <summary>Characters of an event id.</summary>
    public const int MaxIdLength = 128;

    /// <summary>Characters of the other ids and names: organization, principal, request, product, service, method, resource id/type/name.</summary>
    public const int MaxNameLength = 256;

    /// <summary>Characters of <c>locality</c> (a region, a zone or <c>global</c>).</summary>
    public const int MaxLocalityLength = 64;

    /// <summary>Characters of <c>source_ip</c> (the longest IPv6 text with a zone fits).</summary>
    public const int MaxSourceIpLength = 64;

    /// <summary>Characters of <c>user_agent</c> (docs/events.md, Fields).</summary>
    public const int MaxUserAgentLength = 1024;

    /// <summary>Entries of <c>resources</c>.</summary>
    public const int MaxResources = 100;

    /// <summary>UTF-8 bytes of <c>request_body</c>.</summary>
    public const int MaxRequestBodyBytes = 64 * 1024;

    /// <summary>UTF-8 bytes of the extra JSON of one resource (created_at, *_info...).</summary>
    public const int MaxResourceDetailsBytes = 16 * 1024;

    /// <summary>
    /// How deep objects and arrays nest in the JSON of an accepted event (<see cref="AuditEventJson"/>,
    /// the event object itself counting as one level): System.Text.Json's default MaxDepth, so
    /// that every stored event, page and export line reads back with any JSON reader's defaults.
    /// </summary>
    public const int MaxEventJsonDepth = 64;

    /// <summary>Nesting of <c>request_body</c> as a document: inside the event it is one level deeper.</summary>
    public const int MaxRequestBodyDepth = MaxEventJsonDepth - 1;

    /// <summary>
    /// Nesting of a resource's extra fields as a JSON object (that object is the resource's own,
    /// which sits in the event's <c>resources</c> array: two levels deeper inside the event).
    /// </summary>
    public const int MaxResourceDetailsDepth = MaxEventJsonDepth - 2;

    /// <summary>
    /// Nesting that readers of events accept: <see cref="MaxEventJsonDepth"/> and the two levels
    /// more that versions which measured request_body and resource details on their own could
    /// store, so that such events still read back and verify. Events sent with more are refused
    /// by the silo with a message, not by the parser.
    /// </summary>
    public const int MaxEventJsonReadDepth = MaxEventJsonDepth + 2;

    /// <summary>
    /// How deep objects and arrays nest in a JSON text: 0 for a scalar, 1 for <c>{}</c> or
    /// <c>[1]</c>, 2 for <c>[[1]]</c>. Stops at <paramref name="limit"/> + 1 (the text is deeper
    /// than the limit) without reading further.
    /// </summary>
    /// <exception cref="JsonException">The text is not JSON (up to where it was read).</exception>
    public static int JsonDepth(string json, int limit)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json), new JsonReaderOptions { MaxDepth = limit + 1 });
        var depth = 0;
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                depth = Math.Max(depth, reader.CurrentDepth + 1);
                if (depth > limit)
                {
                    return depth;
                }
            }
        }

        return depth;
    }

    /// <summary>
    /// The size of an event as the limits count it: the UTF-8 bytes of all its text fields and
    /// JSON documents, nested resources included. Cheap (no serialization).
    /// </summary>
    public static long Measure(AuditEvent? e)
    {
        if (e is null)
        {
            return 0;
        }

        var size = Bytes(e.Id) + Bytes(e.Locality) + Bytes(e.OrganizationId) + Bytes(e.ProjectId) + Bytes(e.PrincipalId)
            + Bytes(e.SourceIp) + Bytes(e.UserAgent) + Bytes(e.ProductName) + Bytes(e.ServiceName) + Bytes(e.MethodName)
            + Bytes(e.RequestId) + Bytes(e.RequestBody) + Bytes(e.Region)
            + Bytes(e.Result) + Bytes(e.FailureReason) + Bytes(e.Method) + Bytes(e.Origin) + Bytes(e.MfaType) + Bytes(e.CountryCode)
            + Bytes(e.SystemKind) + Bytes(e.Source) + Bytes(e.SystemName);
        if (e.Resources is { } resources)
        {
            foreach (var r in resources)
            {
                size += r is null ? 0 : Bytes(r.Id) + Bytes(r.Type) + Bytes(r.Name) + Bytes(r.Details);
            }
        }

        return size;
    }

    /// <summary>The field of an event that holds the most text (snake_case, as on the wire) and its UTF-8 bytes, for messages.</summary>
    public static (string Field, long Bytes) LargestField(AuditEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        long resources = 0;
        foreach (var r in e.Resources ?? [])
        {
            resources += r is null ? 0 : Bytes(r.Id) + Bytes(r.Type) + Bytes(r.Name) + Bytes(r.Details);
        }

        (string, long)[] fields =
        [
            ("id", Bytes(e.Id)), ("locality", Bytes(e.Locality)), ("organization_id", Bytes(e.OrganizationId)), ("project_id", Bytes(e.ProjectId)),
            ("principal_id", Bytes(e.PrincipalId)), ("source_ip", Bytes(e.SourceIp)), ("user_agent", Bytes(e.UserAgent)),
            ("product_name", Bytes(e.ProductName)), ("service_name", Bytes(e.ServiceName)), ("method_name", Bytes(e.MethodName)),
            ("request_id", Bytes(e.RequestId)), ("request_body", Bytes(e.RequestBody)), ("region", Bytes(e.Region)), ("resources", resources),
            ("result", Bytes(e.Result)), ("failure_reason", Bytes(e.FailureReason)), ("method", Bytes(e.Method)), ("origin", Bytes(e.Origin)),
            ("mfa_type", Bytes(e.MfaType)), ("country_code", Bytes(e.CountryCode)), ("kind", Bytes(e.SystemKind)), ("source", Bytes(e.Source)),
            ("system_name", Bytes(e.SystemName)),
        ];
        return fields.MaxBy(static f => f.Item2);
    }

    /// <summary>
    /// The message for an event larger than <see cref="MaxEventBytes"/>: its size, the limit and
    /// its largest field.
    /// </summary>
    public static string DescribeOversizedEvent(AuditEvent e, long size)
    {
        var (field, bytes) = LargestField(e);
        return $"The event holds {FormatBytes(size)} of text; at most {FormatBytes(MaxEventBytes)} are accepted per event, and its {field} alone holds {FormatBytes(bytes)}: " +
            "shorten that field (redact large values, send fewer resources).";
    }

    /// <summary>UTF-8 byte count of a text (0 for null).</summary>
    public static long Bytes(string? value) => value is null ? 0 : Encoding.UTF8.GetByteCount(value);

    /// <summary>A byte count for messages: "312 bytes", "70.2 KiB", "17.5 MiB".</summary>
    public static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.#} MiB"),
    };
}

/// <summary>
/// A whole batch was refused before any of it was looked at: it holds too many events or too
/// much text (<see cref="IngestLimits"/>), or its default project id is not valid. Nothing of it
/// was stored; the message says what to change. Problems of single events are not reported
/// this way but in <see cref="IngestResult.Errors"/>, and the rest of their batch is stored.
/// </summary>
[GenerateSerializer]
[Alias("AuditOrleans.BatchRejectedException")]
public sealed class BatchRejectedException : ArgumentException
{
    public BatchRejectedException()
    {
    }

    public BatchRejectedException(string message)
        : base(message)
    {
    }

    public BatchRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public BatchRejectedException(string field, string message, long? limit = null, long? actual = null)
        : base(message)
    {
        Field = field;
        Limit = limit;
        Actual = actual;
    }

    /// <summary>What was refused: <c>events</c> (count), <c>batch_bytes</c> (size), <c>default_project_id</c> or <c>mode</c>.</summary>
    [Id(0)] public string? Field { get; init; }

    /// <summary>The limit that was exceeded, when a limit was.</summary>
    [Id(1)] public long? Limit { get; init; }

    /// <summary>The batch's value (event count or bytes), when a limit was exceeded.</summary>
    [Id(2)] public long? Actual { get; init; }
}
