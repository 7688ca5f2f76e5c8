namespace AuditOrleans;

/// <summary>An alert that fired, as recorded in the outbox and shown by Get-AuditAlertHistory.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.FiredAlert")]
public sealed record FiredAlert
{
    /// <summary>Stable id of the firing (also the base of the email Message-Id).</summary>
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string ProjectId { get; init; }

    [Id(2)] public required string Region { get; init; }

    [Id(3)] public required AlertName Alert { get; init; }

    [Id(4)] public required AlertSeverity Severity { get; init; }

    /// <summary>When the engine detected the condition (UTC, wall clock).</summary>
    [Id(5)] public required DateTimeOffset TriggeredAt { get; init; }

    /// <summary>recorded_at of the event that made the condition true.</summary>
    [Id(6)] public required DateTimeOffset EventTime { get; init; }

    /// <summary>Start and end of the time frame the alert is about (the 403 window, or around the event).</summary>
    [Id(7)] public required DateTimeOffset WindowStart { get; init; }

    [Id(8)] public required DateTimeOffset WindowEnd { get; init; }

    [Id(9)] public required AlertFacts Facts { get; init; }

    /// <summary>True for a Test-AuditAlert firing.</summary>
    [Id(10)] public bool IsTest { get; init; }

    /// <summary>Delivery state per recipient (filled in when read back from the outbox).</summary>
    [Id(11)] public IReadOnlyList<AlertDelivery> Deliveries { get; init; } = [];

    // Ids 20 to 39: the detection side of the alert lifecycle (docs/alerts.md, Episodes; Backfill and late events).

    /// <summary>
    /// What this entry of the history says: the alert fired, or (HttpForbiddenErrorRateHigh) an
    /// open episode goes on and changed, or it is over. Firings recorded before kinds existed read as Firing.
    /// </summary>
    [Id(20)] public AlertKind Kind { get; init; } = AlertKind.Firing;

    /// <summary>The HttpForbiddenErrorRateHigh episode this entry belongs to: the id of the firing that opened it.</summary>
    [Id(21)] public string? EpisodeId { get; init; }

    /// <summary>True when the events that caused it were sent as history (Send-AuditEvent -Historical): recorded, never emailed.</summary>
    [Id(22)] public bool IsBackfill { get; init; }

    /// <summary>True when the event that caused it arrived later than Alerts:LatenessThreshold after it happened (<see cref="EventTime"/>).</summary>
    [Id(23)] public bool IsLate { get; init; }

    /// <summary>The silence that held this firing (docs/alerts.md, Silences): recorded, nobody emailed. Null when none did.</summary>
    [Id(40)] public string? SilenceId { get; init; }

    /// <summary>Who took and who closed this firing, oldest first (docs/alerts.md, Acknowledgement).</summary>
    [Id(41)] public IReadOnlyList<FiringAcknowledgement> Acknowledgements { get; init; } = [];

    /// <summary>Where the firing stands in incident response: closed, taken, silenced or open (the first that applies).</summary>
    public FiringStatus Status =>
        Acknowledgements.Any(static a => a.Action == FiringAction.Closed) ? FiringStatus.Closed
        : Acknowledgements.Any(static a => a.Action == FiringAction.Taken) ? FiringStatus.Taken
        : SilenceId is not null ? FiringStatus.Silenced
        : FiringStatus.Open;
}

/// <summary>What an entry of the alert history says (docs/alerts.md, Episodes).</summary>
public enum AlertKind
{
    /// <summary>The alert fired: a single-event match, or the start of a HttpForbiddenErrorRateHigh episode.</summary>
    Firing = 0,

    /// <summary>An open HttpForbiddenErrorRateHigh episode goes on and changed materially since its last notice.</summary>
    Update = 1,

    /// <summary>A HttpForbiddenErrorRateHigh episode is over: the 403 rate fell back to 20 or fewer in 5 minutes.</summary>
    Resolved = 2,

    /// <summary>A custom rule was created, renamed, described, enabled, disabled or removed (who and what in the facts); never emailed.</summary>
    RuleChanged = 3,
}

/// <summary>Where a firing stands in incident response (docs/alerts.md, Acknowledgement).</summary>
public enum FiringStatus
{
    /// <summary>Nobody took it yet.</summary>
    Open = 1,

    /// <summary>Someone took it (Confirm-AuditAlertFiring) and it is not closed.</summary>
    Taken = 2,

    /// <summary>Closed (Close-AuditAlertFiring).</summary>
    Closed = 3,

    /// <summary>A silence held it (recorded, nobody emailed) and nobody took or closed it.</summary>
    Silenced = 4,
}

/// <summary>What was done to a firing.</summary>
public enum FiringAction
{
    /// <summary>Taken: someone is on it.</summary>
    Taken = 1,

    /// <summary>Closed: dealt with.</summary>
    Closed = 2,
}

/// <summary>One step of a firing's handling: who (the API key), when, what and why.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.FiringAcknowledgement")]
public sealed record FiringAcknowledgement(
    [property: Id(0)] FiringAction Action,
    [property: Id(1)] string KeyId,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string? Comment);

/// <summary>The facts that explain a firing.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AlertFacts")]
public sealed record AlertFacts
{
    /// <summary>Number of 403 events in the window (HttpForbiddenErrorRateHigh).</summary>
    [Id(0)] public int? ForbiddenCount { get; init; }

    [Id(1)] public IReadOnlyList<CountedValue> TopPrincipals { get; init; } = [];

    [Id(2)] public IReadOnlyList<CountedValue> TopSourceIps { get; init; } = [];

    /// <summary>The event that triggered the alert.</summary>
    [Id(3)] public string? EventId { get; init; }

    [Id(4)] public string? ApiKeyId { get; init; }

    [Id(5)] public string? PrincipalId { get; init; }

    [Id(6)] public string? SourceIp { get; init; }

    [Id(7)] public string? MethodName { get; init; }

    [Id(8)] public int? StatusCode { get; init; }

    [Id(9)] public string? UserAgent { get; init; }

    /// <summary>recorded_at of the first 403 of the episode (HttpForbiddenErrorRateHigh updates and resolved notices).</summary>
    [Id(20)] public DateTimeOffset? FirstEventTime { get; init; }

    /// <summary>Why an update was sent: what changed since the episode's last notice; for a rule change, what changed.</summary>
    [Id(21)] public string? Change { get; init; }

    /// <summary>The custom rule of a <see cref="AlertName.CustomRule"/> entry, as it was when the entry was recorded.</summary>
    [Id(30)] public RuleFacts? Rule { get; init; }

    /// <summary>Custom rules: the matches counted in the window when it fired.</summary>
    [Id(31)] public int? MatchCount { get; init; }

    /// <summary>A rule change: the public id of the API key that made it ("silo" without access control).</summary>
    [Id(32)] public string? ChangedBy { get; init; }
}

/// <summary>A custom rule as a history entry records it.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.RuleFacts")]
public sealed record RuleFacts
{
    [Id(0)] public string Id { get; init; } = "";

    [Id(1)] public string Name { get; init; } = "";

    [Id(2)] public string? Description { get; init; }

    [Id(3)] public string Query { get; init; } = "";

    [Id(4)] public int Occurrences { get; init; }

    [Id(5)] public TimeSpan EvaluationWindow { get; init; }

    [Id(6)] public RuleSeverity Severity { get; init; }

    /// <summary>True when the rule ran in dry-run mode: the firing is history only, nobody is emailed.</summary>
    [Id(7)] public bool DryRun { get; init; }
}

/// <summary>A value and how many times it occurred.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.CountedValue")]
public sealed record CountedValue([property: Id(0)] string Value, [property: Id(1)] int Count);

/// <summary>State of the delivery of one firing to one recipient.</summary>
public enum DeliveryState
{
    Pending = 0,
    Retrying = 1,
    Delivered = 2,
    Failed = 3,

    /// <summary>A silence held the firing: nothing is sent to this recipient (docs/alerts.md, Silences).</summary>
    Silenced = 5,
}

/// <summary>Delivery of one firing to one recipient.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AlertDelivery")]
public sealed record AlertDelivery(
    [property: Id(0)] string Recipient,
    [property: Id(1)] DeliveryState State,
    [property: Id(2)] int Attempts,
    [property: Id(3)] string? LastError,
    [property: Id(4)] DateTimeOffset? DeliveredAt,
    [property: Id(5)] DateTimeOffset? NextAttemptAt)
{
    /// <summary>
    /// The digest email that carries this firing to the recipient (docs/alerts.md, Grouping),
    /// null when it has an email of its own. The state, attempts and times are then the digest's.
    /// </summary>
    [Id(40)] public string? DigestId { get; init; }

    /// <summary>
    /// For a webhook contact (<see cref="Recipient"/> is its id, wh_...): its format and URL as far
    /// as the first path segment, e.g. "Slack https://hooks.slack.com/services/…"; null for an
    /// email, and for a webhook removed since.
    /// </summary>
    [Id(41)] public string? Target { get; init; }

    /// <summary>email or webhook.</summary>
    public string Channel => WebhookSecretLimits.IsWebhookId(Recipient) ? "webhook" : "email";
}
