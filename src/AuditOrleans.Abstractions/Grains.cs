namespace AuditOrleans;

/// <summary>
/// Entry point for events: validates them, routes each to its project-region and hands them
/// over in batches. A stateless worker: call it with key 0.
/// </summary>
[Alias("AuditOrleans.IIngestGrain")]
public interface IIngestGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Validates and stores a batch. Valid events are stored durably before this returns;
    /// invalid ones are answered in <see cref="IngestResult.Errors"/> by position.
    /// </summary>
    /// <param name="defaultProjectId">Project for events that carry neither project_id nor organization_id.</param>
    /// <param name="events">The batch.</param>
    [Alias("IngestAsync")]
    Task<IngestResult> IngestAsync(string defaultProjectId, IReadOnlyList<AuditEvent> events);

    /// <summary>
    /// Validates and stores a batch sent as <paramref name="mode"/>: a
    /// <see cref="IngestMode.Historical"/> batch is stored and chained as usual, and the alerts
    /// its events match are recorded in the history as backfill, never emailed.
    /// </summary>
    /// <param name="defaultProjectId">Project for events that carry neither project_id nor organization_id.</param>
    /// <param name="events">The batch.</param>
    /// <param name="mode">Live (the default of the other overload) or Historical.</param>
    [Alias("IngestWithModeAsync")]
    Task<IngestResult> IngestAsync(string defaultProjectId, IReadOnlyList<AuditEvent> events, IngestMode mode);
}

/// <summary>Which preconfigured alerts are active in one project-region (key <c>{projectId}/{region}</c>). Persisted.</summary>
[Alias("AuditOrleans.IAlertConfigGrain")]
public interface IAlertConfigGrain : IGrainWithStringKey
{
    /// <summary>The current configuration.</summary>
    [Alias("GetAsync")]
    Task<AlertConfiguration> GetAsync();

    /// <summary>Sets several alerts active or inactive in one atomic, persisted change.</summary>
    [Alias("SetActiveAsync")]
    Task<AlertConfiguration> SetActiveAsync(IReadOnlyDictionary<AlertName, bool> changes);

    /// <summary>
    /// Creates a custom alert rule (docs/rules.md). The query is compiled and checked first: a bad
    /// one is refused with a <see cref="RuleQueryException"/> that gives its position and reason.
    /// The change is recorded in the alert history with the acting key.
    /// </summary>
    [Alias("CreateRuleAsync")]
    Task<AlertRule> CreateRuleAsync(AlertRuleDraft draft);

    /// <summary>Renames a rule and/or changes its description (its query cannot change); null leaves a value as it is.</summary>
    [Alias("UpdateRuleAsync")]
    Task<AlertRule> UpdateRuleAsync(string name, string? newName, string? description);

    /// <summary>Removes a rule; false when there is none of that name. Its history stays.</summary>
    [Alias("RemoveRuleAsync")]
    Task<bool> RemoveRuleAsync(string name);

    /// <summary>Enables or disables rules by name in one persisted change.</summary>
    [Alias("SetRulesEnabledAsync")]
    Task<AlertConfiguration> SetRulesEnabledAsync(IReadOnlyDictionary<string, bool> changes);

    /// <summary>
    /// Replays the events given (a JSON lines file) through a query as the live rule of this
    /// project-region would run them; records nothing, notifies nobody.
    /// </summary>
    [Alias("TestRuleOnEventsAsync")]
    Task<RuleTestResult> TestRuleOnEventsAsync(RuleTestRequest request);

    /// <summary>As <see cref="TestRuleOnEventsAsync"/>, over the stored events of this project-region between the request's Start and End.</summary>
    [Alias("TestRuleOnStoredAsync")]
    Task<RuleTestResult> TestRuleOnStoredAsync(RuleTestRequest request);
}

/// <summary>
/// The detector of one project-region (key <c>{projectId}/{region}</c>): appends the events to
/// the project-region's tamper-evident log and evaluates the alert rules on them. It holds the
/// 403 sliding window and the chain head in memory, rebuilt from the log on activation.
/// </summary>
[Alias("AuditOrleans.IDetectorGrain")]
public interface IDetectorGrain : IGrainWithStringKey
{
    /// <summary>Appends validated events (already routed to this project-region), evaluates the rules and records firings, all in one transaction.</summary>
    [Alias("AppendAsync")]
    Task<AppendResult> AppendAsync(IReadOnlyList<AuditEvent> events);

    /// <summary>As <see cref="AppendAsync(IReadOnlyList{AuditEvent})"/>, for a batch sent as <paramref name="mode"/> (historical: the firings are backfill).</summary>
    [Alias("AppendWithModeAsync")]
    Task<AppendResult> AppendAsync(IReadOnlyList<AuditEvent> events, IngestMode mode);

    /// <summary>The detector's current 403 window as seen by the rule.</summary>
    [Alias("GetStatusAsync")]
    Task<DetectorStatus> GetStatusAsync();

    /// <summary>
    /// Hands the detector the project-region's alert configuration after a persisted change
    /// (called by the alert-config grain). The detector keeps the highest
    /// <see cref="AlertConfiguration.Version"/> it has seen, so an older one arriving late is ignored.
    /// </summary>
    [Alias("ApplyConfigurationAsync")]
    Task ApplyConfigurationAsync(AlertConfiguration configuration);

    /// <summary>
    /// Looks at the open HttpForbiddenErrorRateHigh episode with the silo's clock: records its
    /// resolved notice when no 403 came for the window's length and the window ending now holds
    /// 20 or fewer, or an update that the repeat interval held back. The detector's own timer
    /// calls it, and every silo for the open episodes it finds in the database.
    /// </summary>
    [Alias("CheckEpisodeAsync")]
    Task CheckEpisodeAsync();
}

/// <summary>State of a project-region's HttpForbiddenErrorRateHigh rule.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.DetectorStatus")]
public sealed record DetectorStatus(
    [property: Id(0)] int ForbiddenInWindow,
    [property: Id(1)] DateTimeOffset? NewestForbidden,
    [property: Id(2)] bool EpisodeAlerted,
    [property: Id(3)] long HeadSequence)
{
    /// <summary>The alerts the detector evaluates as active.</summary>
    [Id(4)] public IReadOnlySet<AlertName> ActiveAlerts { get; init; } = new HashSet<AlertName>();

    /// <summary>Version of the alert configuration the detector holds (0: never configured).</summary>
    [Id(5)] public long ConfigurationVersion { get; init; }

    /// <summary>The open HttpForbiddenErrorRateHigh episode (the id of the firing that opened it), or null.</summary>
    [Id(6)] public string? OpenEpisodeId { get; init; }

    /// <summary>Custom rules the detector evaluates (enabled and compiled).</summary>
    [Id(7)] public int EnabledRules { get; init; }

    /// <summary>Evaluations of custom rules that failed on an event since the detector activated (those events did not match).</summary>
    [Id(8)] public long RuleErrors { get; init; }
}

/// <summary>Read side of the audit log and alert history. A stateless worker: call it with key 0.</summary>
[Alias("AuditOrleans.IAuditLogGrain")]
public interface IAuditLogGrain : IGrainWithIntegerKey
{
    /// <summary>One page of events matching the query.</summary>
    [Alias("QueryAsync")]
    Task<AuditPage> QueryAsync(AuditQuery query);

    /// <summary>Walks a project-region's hash chain and reports the first break.</summary>
    [Alias("VerifyAsync")]
    Task<IntegrityReport> VerifyAsync(string projectId, string region);

    /// <summary>
    /// Walks the chain as <see cref="VerifyAsync"/> does and also checks it against checkpoints
    /// the caller kept outside the database (each must match the hash at its position).
    /// </summary>
    [Alias("VerifyAgainstAsync")]
    Task<IntegrityReport> VerifyAgainstAsync(string projectId, string region, IReadOnlyList<ChainCheckpoint> trusted);

    /// <summary>The newest published checkpoints of a project-region's chain, newest first.</summary>
    [Alias("GetCheckpointsAsync")]
    Task<IReadOnlyList<ChainCheckpoint>> GetCheckpointsAsync(string projectId, string region, int limit);

    /// <summary>Fired alerts with their delivery state, newest first.</summary>
    [Alias("GetAlertHistoryAsync")]
    Task<IReadOnlyList<FiredAlert>> GetAlertHistoryAsync(AlertHistoryQuery query);

    /// <summary>The event at a position of a project-region's chain, with the check of its link; null when there is none.</summary>
    [Alias("GetEventAsync")]
    Task<AuditEventDetail?> GetEventAsync(string projectId, string region, long sequence);

    /// <summary>The event of a project with this id (ids are unique per project), with the check of its link; null when there is none.</summary>
    [Alias("FindEventAsync")]
    Task<AuditEventDetail?> FindEventAsync(string projectId, string eventId);

    /// <summary>Counts of a project's events per time bucket (all, HTTP 403, 4xx, 5xx) and the principals and source IPs with the most HTTP 403, then the most events.</summary>
    [Alias("GetActivityAsync")]
    Task<ActivitySummary> GetActivityAsync(ActivityQuery query);

    /// <summary>The projects that have events or firings, in order (at most <see cref="QueryLimits.MaxProjects"/>). Owner keys only: it names every project.</summary>
    [Alias("ListProjectsAsync")]
    Task<IReadOnlyList<string>> ListProjectsAsync(int limit);
}

/// <summary>Notification contacts of one project (key: project id).</summary>
[Alias("AuditOrleans.INotificationContactsGrain")]
public interface INotificationContactsGrain : IGrainWithStringKey
{
    [Alias("GetAsync")]
    Task<IReadOnlyList<NotificationContact>> GetAsync();

    /// <summary>Adds a contact, or adds types to an existing one.</summary>
    [Alias("AddAsync")]
    Task<NotificationContact> AddAsync(string email, NotificationType types);

    /// <summary>Removes a contact; false when there was none with that address.</summary>
    [Alias("RemoveAsync")]
    Task<bool> RemoveAsync(string email);

    /// <summary>The webhook contacts of the project (never their secrets).</summary>
    [Alias("GetWebhooksAsync")]
    Task<IReadOnlyList<WebhookContact>> GetWebhooksAsync();

    /// <summary>
    /// Adds a webhook contact after checking its URL (docs/webhooks.md: https, no private
    /// target), with a new signing secret returned once; for a URL already there, adds the types
    /// and sets the format when one is given, and returns no secret (the existing one stays).
    /// A new contact without a format gets Json.
    /// </summary>
    [Alias("AddWebhookAsync")]
    Task<WebhookSecretIssued> AddWebhookAsync(string url, WebhookFormat? format, NotificationType types);

    /// <summary>Removes a webhook contact given by its URL or its id (wh_...); false when there was none.</summary>
    [Alias("RemoveWebhookAsync")]
    Task<bool> RemoveWebhookAsync(string urlOrId);

    /// <summary>
    /// Gives a webhook contact (URL or id) a new secret, returned once; the current one keeps
    /// signing too for <paramref name="gracePeriod"/> (null: Notifications:Webhooks:RotationGracePeriod).
    /// Null when the project has no such webhook contact.
    /// </summary>
    [Alias("ResetWebhookSecretAsync")]
    Task<WebhookSecretIssued?> ResetWebhookSecretAsync(string urlOrId, TimeSpan? gracePeriod);
}

/// <summary>
/// Delivers recorded firings by email and webhook (the outbox). One activation in the cluster (key 0).
/// </summary>
[Alias("AuditOrleans.INotificationGrain")]
public interface INotificationGrain : IGrainWithIntegerKey
{
    /// <summary>Asks the outbox to deliver what is due now (called after a firing is recorded).</summary>
    [Alias("WakeAsync")]
    Task WakeAsync();

    /// <summary>
    /// Records a [TEST] firing of one alert for a project-region, delivers it through the real
    /// path and returns it with its delivery state.
    /// </summary>
    [Alias("SendTestAsync")]
    Task<FiredAlert> SendTestAsync(string projectId, string region, AlertName alert);
}
