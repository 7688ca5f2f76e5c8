namespace AuditOrleans;

/// <summary>
/// One audit event as clients send it and as the log returns it. Field names follow the
/// provider's API (snake_case on the wire, see docs/events.md, Fields).
/// </summary>
/// <remarks>
/// On input every field but <see cref="StatusCode"/> is optional; the silo validates and
/// normalises the event (generates <see cref="Id"/>, defaults <see cref="RecordedAt"/>,
/// resolves <see cref="Region"/> and <see cref="ProjectId"/>) before storing it.
/// </remarks>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AuditEvent")]
public sealed record AuditEvent
{
    /// <summary>Idempotency key; generated when absent.</summary>
    [Id(0)] public string? Id { get; init; }

    /// <summary>When the call happened (UTC); defaults to the time of ingestion.</summary>
    [Id(1)] public DateTimeOffset? RecordedAt { get; init; }

    /// <summary>Region, zone (fr-par-2) or <c>global</c> as sent.</summary>
    [Id(2)] public string? Locality { get; init; }

    [Id(3)] public string? OrganizationId { get; init; }

    [Id(4)] public string? ProjectId { get; init; }

    [Id(5)] public string? PrincipalId { get; init; }

    [Id(6)] public string? SourceIp { get; init; }

    [Id(7)] public string? UserAgent { get; init; }

    [Id(8)] public string? ProductName { get; init; }

    [Id(9)] public string? ServiceName { get; init; }

    [Id(10)] public string? MethodName { get; init; }

    [Id(11)] public IReadOnlyList<AuditResource>? Resources { get; init; }

    [Id(12)] public string? RequestId { get; init; }

    [Id(13)] public int? StatusCode { get; init; }

    /// <summary>The request body as a raw JSON document, kept as recorded.</summary>
    [Id(14)] public string? RequestBody { get; init; }

    /// <summary>The region the event was routed to (set by the silo).</summary>
    [Id(15)] public string? Region { get; init; }

    // Ids 16 to 29: the authentication and system events of the provider (docs/events.md, Event kinds).

    /// <summary>What the event records: an API call (the default), a console sign-in or a system action.</summary>
    [Id(16)] public EventKind Kind { get; init; }

    /// <summary>Authentication: <c>success</c> or <c>failure</c>.</summary>
    [Id(17)] public string? Result { get; init; }

    /// <summary>Authentication: why a sign-in failed (<c>invalid_password</c>, <c>invalid_mfa</c>...).</summary>
    [Id(18)] public string? FailureReason { get; init; }

    /// <summary>Authentication: how the user signed in (<c>password</c>, <c>authentication_code</c>, <c>oauth2</c>...).</summary>
    [Id(19)] public string? Method { get; init; }

    /// <summary>Authentication: where the sign-in came from (<c>public_api</c>, <c>admin_api</c>...).</summary>
    [Id(20)] public string? Origin { get; init; }

    /// <summary>Authentication: the second factor used (<c>totp</c>...).</summary>
    [Id(21)] public string? MfaType { get; init; }

    /// <summary>Authentication: the ISO 3166-1 alpha-2 country of the source address.</summary>
    [Id(22)] public string? CountryCode { get; init; }

    /// <summary>System: the provider's own <c>kind</c> of a system event, <c>cron</c> or <c>notification</c>.</summary>
    [Id(23)] public string? SystemKind { get; init; }

    /// <summary>System: what produced the event.</summary>
    [Id(24)] public string? Source { get; init; }

    /// <summary>System: the name of the system that acted.</summary>
    [Id(25)] public string? SystemName { get; init; }
}

/// <summary>
/// The kinds of events the provider records (docs/events.md, Event kinds). In the provider's
/// combined listing each is wrapped as <c>{"api": ...}</c>, <c>{"auth": ...}</c> or <c>{"system": ...}</c>.
/// </summary>
public enum EventKind
{
    /// <summary>An API call: method, status code, principal.</summary>
    Api = 0,

    /// <summary>A console sign-in: result, failure reason, method, country. Organization-level.</summary>
    Authentication = 1,

    /// <summary>An action of the provider's own systems: cron jobs and notifications.</summary>
    System = 2,
}

/// <summary>A resource touched by an audited call.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AuditResource")]
public sealed record AuditResource
{
    [Id(0)] public string? Id { get; init; }

    [Id(1)] public string? Type { get; init; }

    [Id(2)] public string? Name { get; init; }

    /// <summary>
    /// The rest of the resource object as raw JSON (created_at, updated_at, deleted_at and the
    /// per-type <c>*_info</c> object), kept as recorded.
    /// </summary>
    [Id(3)] public string? Details { get; init; }
}

/// <summary>An event as stored in a project-region's tamper-evident log.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AuditRecord")]
public sealed record AuditRecord(
    [property: Id(0)] string ProjectId,
    [property: Id(1)] string Region,
    [property: Id(2)] long Sequence,
    [property: Id(3)] AuditEvent Event,
    [property: Id(4)] DateTimeOffset IngestedAt,
    [property: Id(5)] string Hash);
