namespace AuditOrleans;

/// <summary>The five preconfigured alerts (docs/alerts.md, The five alerts). Names are a public contract.</summary>
public enum AlertName
{
    ApiKeyCreated = 1,
    ApiKeyCreationUnauthorized = 2,
    ApiKeyDeleted = 3,
    ApiKeyDeletionUnauthorized = 4,
    HttpForbiddenErrorRateHigh = 5,

    /// <summary>
    /// A custom alert rule of the project-region (docs/rules.md): its firings and changes carry the
    /// rule in <see cref="AlertFacts.Rule"/>. Not one of the preconfigured alerts (not in
    /// <see cref="AlertCatalog.All"/>); a silence of <c>CustomRule</c> holds the firings of every rule.
    /// </summary>
    CustomRule = 6,
}

/// <summary>Severity of an alert.</summary>
public enum AlertSeverity
{
    Low = 1,
    Medium = 2,
    High = 3,

    /// <summary>The <c>critical</c> severity of custom rules (docs/rules.md).</summary>
    Critical = 4,
}

/// <summary>A preconfigured alert: what it detects, how bad it is and what to do about it.</summary>
public sealed record AlertDefinition(
    AlertName Name,
    string Description,
    AlertSeverity Severity,
    IReadOnlyList<string> RecommendedActions);

/// <summary>The catalogue of preconfigured alerts.</summary>
public static class AlertCatalog
{
    /// <summary>Number of HTTP 403 events that must be exceeded within the window.</summary>
    public const int ForbiddenThreshold = 20;

    /// <summary>Length of the HttpForbiddenErrorRateHigh sliding window.</summary>
    public static readonly TimeSpan ForbiddenWindow = TimeSpan.FromMinutes(5);

    public static IReadOnlyList<AlertDefinition> All { get; } =
    [
        new(AlertName.ApiKeyCreated,
            "An API key was created (iam CreateAPIKey succeeded).",
            AlertSeverity.Medium,
            [
                "Check that the principal who created the key is expected to do so.",
                "If the creation is not expected, delete the key in IAM and review the principal's permissions.",
                "Look for calls made with the new access key since its creation.",
            ]),
        new(AlertName.ApiKeyCreationUnauthorized,
            "An attempt to create an API key was refused (CreateAPIKey returned 401 or 403).",
            AlertSeverity.High,
            [
                "Identify the principal and source IP of the attempt in the audit log.",
                "If the principal is unknown or the source IP unexpected, revoke the principal's credentials now.",
                "Check whether other privileged calls were attempted from the same source IP.",
            ]),
        new(AlertName.ApiKeyDeleted,
            "An API key was deleted (iam DeleteAPIKey succeeded).",
            AlertSeverity.Medium,
            [
                "Check that the deletion was planned: workloads that used the key will now fail.",
                "If it was not planned, review the principal that deleted it and its recent activity.",
            ]),
        new(AlertName.ApiKeyDeletionUnauthorized,
            "An attempt to delete an API key was refused (DeleteAPIKey returned 401 or 403).",
            AlertSeverity.High,
            [
                "Identify the principal and source IP of the attempt in the audit log.",
                "If the attempt is not expected, revoke the principal's credentials and rotate exposed keys.",
                "Check whether other destructive calls were attempted from the same source IP.",
            ]),
        new(AlertName.HttpForbiddenErrorRateHigh,
            "More than 20 HTTP 403 (Forbidden) responses within 5 minutes.",
            AlertSeverity.High,
            [
                "Look at the top principals and source IPs listed in the alert: a single source often means a leaked or misused credential, or permission probing.",
                "If the calls come from an unknown source, revoke the credentials involved and block the source IP.",
                "If they come from your own automation, fix its permissions or its policy; it may be failing silently.",
            ]),
    ];

    /// <summary>What the history and emails say of a custom rule's entries when the rule itself says nothing more.</summary>
    public static AlertDefinition CustomRule { get; } = new(
        AlertName.CustomRule,
        "A custom alert rule matched its number of events within its evaluation window.",
        AlertSeverity.Medium,
        [
            "Read the rule's description and query, and the events it matched in the Audit Trail.",
            "If the activity is not expected, act on the principals and source IPs involved.",
            "If the rule fires on expected activity, narrow its query (a new rule: queries cannot be edited) or run it in dry-run mode.",
        ]);

    public static AlertDefinition Get(AlertName name) => name == AlertName.CustomRule ? CustomRule : All[(int)name - 1];

    /// <summary>The definition of a firing's alert: for a custom rule, its own name, description and severity.</summary>
    public static AlertDefinition Describe(FiredAlert firing)
    {
        ArgumentNullException.ThrowIfNull(firing);
        return firing.Facts.Rule is { } rule
            ? CustomRule with { Description = string.IsNullOrWhiteSpace(rule.Description) ? $"Custom rule {rule.Name}: {rule.Query}" : $"Custom rule {rule.Name}: {rule.Description}", Severity = firing.Severity }
            : Get(firing.Alert);
    }

    /// <summary>The name a firing is shown under: the alert's, or the custom rule's.</summary>
    public static string DisplayName(FiredAlert firing)
    {
        ArgumentNullException.ThrowIfNull(firing);
        return firing.Facts.Rule is { } rule ? rule.Name : firing.Alert.ToString();
    }

    /// <summary>The valid names, for error messages and completion.</summary>
    public static string ValidNames { get; } = string.Join(", ", All.Select(static a => a.Name));

    /// <summary>
    /// What an alert can match in <paramref name="region"/> when that is not the region global
    /// events count in (docs/events.md, Regions; docs/alerts.md, Scope and switching): the
    /// API-key alerts watch IAM, whose events are global and always count in
    /// <see cref="Scope.GlobalRegion"/>. Null when the alert watches the region as it is.
    /// </summary>
    public static string? RegionNote(AlertName alert, string region)
    {
        if (string.Equals(region, Scope.GlobalRegion, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var method = alert is AlertName.ApiKeyCreated or AlertName.ApiKeyCreationUnauthorized ? "CreateAPIKey" : "DeleteAPIKey";
        return alert switch
        {
            AlertName.ApiKeyCreated or AlertName.ApiKeyDeleted =>
                $"{alert} can never fire in {region}: it matches IAM's {method}, and IAM events are global, so they always count in {Scope.GlobalRegion}, whatever their locality. " +
                $"Enable it in {Scope.GlobalRegion} instead (Enable-AuditAlert -Name {alert} -Region {Scope.GlobalRegion}).",
            AlertName.ApiKeyCreationUnauthorized or AlertName.ApiKeyDeletionUnauthorized =>
                $"{alert} in {region} fires only for refused {method} calls of products that are not global (not iam, account or edge-services) and whose locality is in {region}. " +
                $"IAM's own refused {method} calls are global and count in {Scope.GlobalRegion}: to be alerted of them, enable {alert} in {Scope.GlobalRegion} (Enable-AuditAlert -Name {alert} -Region {Scope.GlobalRegion}).",
            _ => null,
        };
    }

    /// <summary>Parses an alert name (case-insensitive); false for anything that is not one of the five or <c>CustomRule</c> (every custom rule, for silences and the history).</summary>
    public static bool TryParse(string? text, out AlertName name)
    {
        name = default;
        if (string.IsNullOrWhiteSpace(text) || text.Trim().All(char.IsDigit))
        {
            return false;
        }

        return Enum.TryParse(text.Trim(), ignoreCase: true, out name) && Enum.IsDefined(name);
    }
}

/// <summary>Which alerts are active in one project-region.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AlertConfiguration")]
public sealed record AlertConfiguration(
    [property: Id(0)] string ProjectId,
    [property: Id(1)] string Region,
    [property: Id(2)] IReadOnlySet<AlertName> Active,
    [property: Id(3)] long Version,
    [property: Id(4)] DateTimeOffset? UpdatedAt)
{
    /// <summary>The custom alert rules of the project-region, enabled or not (docs/rules.md).</summary>
    [Id(5)] public IReadOnlyList<AlertRule> Rules { get; init; } = [];

    public bool IsActive(AlertName name) => Active.Contains(name);
}

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
