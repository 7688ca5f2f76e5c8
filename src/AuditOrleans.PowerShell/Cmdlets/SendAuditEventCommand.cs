using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;
using AliasAttribute = System.Management.Automation.AliasAttribute;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Sends audit events to the cluster. Events come from the parameters or, bound by property
/// name, from the pipeline: <c>ConvertFrom-Json</c> objects of a provider export (snake_case
/// names, nested principal.id), <c>Import-Csv</c> rows (text numbers and timestamps) or
/// Get-AuditEvent output. They are sent in batches; each bad event is a non-terminating error
/// naming the event and the field, and the good ones are stored.
/// </summary>
[Cmdlet(VerbsCommunications.Send, "AuditEvent")]
[OutputType(typeof(AuditEventSendSummary))]
public sealed class SendAuditEventCommand : AuditCmdlet
{
    public const int DefaultBatchSize = 500;

    /// <summary>The cluster's limit on the events of one batch.</summary>
    public const int MaxBatchSize = IngestLimits.MaxBatchEvents;

    /// <summary>
    /// Text per call to the cluster: a batch is sent early when the next event would take it past
    /// this, a quarter of the cluster's limit (<see cref="IngestLimits.MaxBatchBytes"/>).
    /// </summary>
    public const int BatchBytes = IngestLimits.MaxBatchBytes / 4;

    private readonly List<(AuditEvent Event, int Index, object? Input)> batch = [];
    private readonly AuditEventSendSummary summary = new();
    private int batches;
    private long batchBytes;

    /// <summary>Idempotency key: the same id twice is stored once. Generated when absent.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Id { get; set; }

    /// <summary>When the call happened (ISO 8601 text or [datetime]); default now.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("recorded_at")]
    public object? RecordedAt { get; set; }

    /// <summary>Region, zone (fr-par-2) or 'global'.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string? Locality { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("organization_id")]
    public string? OrganizationId { get; set; }

    /// <summary>The event's project; absent: organization_id, then the session's project.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("project_id")]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("principal_id")]
    public string? PrincipalId { get; set; }

    /// <summary>The provider's nested principal object ({ "id": ... }).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public object? Principal { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("source_ip")]
    public string? SourceIp { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("user_agent")]
    public string? UserAgent { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("product_name")]
    public string? ProductName { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("service_name")]
    public string? ServiceName { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("method_name")]
    public string? MethodName { get; set; }

    /// <summary>HTTP status of the audited call (100..599).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("status_code")]
    public object? StatusCode { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("request_id")]
    public string? RequestId { get; set; }

    /// <summary>The request body: an object, or its JSON text.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("request_body")]
    public object? RequestBody { get; set; }

    /// <summary>Resources: objects with id, type, name (and the provider's other fields), or their JSON text.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public object? Resources { get; set; }

    /// <summary>
    /// The event's kind (Api, Authentication, System), or a system event's own kind (cron,
    /// notification), as the provider's plain system events carry it. Absent: inferred from the
    /// fields (docs/events.md, Event kinds).
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(EventKindCompleter))]
    public object? Kind { get; set; }

    /// <summary>System events: cron or notification (the provider's 'kind' of a system event).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("system_kind")]
    public string? SystemKind { get; set; }

    /// <summary>Authentication events: success or failure.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Result { get; set; }

    /// <summary>Authentication events: invalid_password, invalid_mfa...</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("failure_reason")]
    public string? FailureReason { get; set; }

    /// <summary>Authentication events: how the user signed in (password, authentication_code...).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Method { get; set; }

    /// <summary>Authentication events: public_api, admin_api...</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Origin { get; set; }

    /// <summary>Authentication events: the second factor (totp...).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("mfa_type")]
    public string? MfaType { get; set; }

    /// <summary>Authentication events: two-letter country of the source address.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("country_code")]
    public string? CountryCode { get; set; }

    /// <summary>System events: what produced the event.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Source { get; set; }

    /// <summary>System events: the name of the system that acted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("system_name")]
    public string? SystemName { get; set; }

    /// <summary>An API event in the provider's combined envelope ({"api": {...}}).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    [Alias("api")]
    public object? ApiEnvelope { get; set; }

    /// <summary>An authentication event in the provider's combined envelope ({"auth": {...}}).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    [Alias("auth")]
    public object? AuthEnvelope { get; set; }

    /// <summary>A system event in the provider's combined envelope ({"system": {...}}).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    [Alias("system")]
    public object? SystemEnvelope { get; set; }

    /// <summary>The pipeline object itself, kept as the target of its errors.</summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    /// <summary>Events per call to the cluster.</summary>
    [Parameter]
    [ValidateRange(1, MaxBatchSize)]
    public int BatchSize { get; set; } = DefaultBatchSize;

    /// <summary>Returns a summary: Accepted, Duplicates, Rejected.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>
    /// The events are history (a replayed export, a migration): stored and chained as usual, the
    /// alerts they match recorded in the alert history as backfill, and no email sent.
    /// </summary>
    [Parameter]
    public SwitchParameter Historical { get; set; }

    protected override void BeginProcessing() => summary.ProjectId = Connection.Settings.ProjectId;

    protected override void ProcessRecord()
    {
        var index = summary.Total++;
        var input = InputObject;
        AuditEvent e;
        try
        {
            e = Read();
        }
        catch (FormatException ex)
        {
            summary.Rejected++;
            WriteAuditError(Describe(index, Id, ex.Message), "InvalidAuditEvent", ErrorCategory.InvalidData, input ?? Id);
            return;
        }

        // An event over the cluster's size limit is refused here: sent, it could push its whole
        // batch over the batch limit and take the good events down with it.
        var size = IngestLimits.Measure(e);
        if (size > IngestLimits.MaxEventBytes)
        {
            summary.Rejected++;
            WriteAuditError(Describe(index, e.Id, $"{IngestLimits.LargestField(e).Field}: {IngestLimits.DescribeOversizedEvent(e, size)}"),
                "InvalidAuditEvent", ErrorCategory.LimitsExceeded, input ?? Id);
            return;
        }

        if (batch.Count > 0 && batchBytes + size > BatchBytes)
        {
            Flush();
        }

        batch.Add((e, index, input));
        batchBytes += size;
        if (batch.Count >= BatchSize)
        {
            Flush();
        }
    }

    protected override void EndProcessing()
    {
        Flush();
        if (batches > 1)
        {
            WriteProgress(new ProgressRecord(1, "Sending audit events", "Done") { RecordType = ProgressRecordType.Completed });
        }

        if (PassThru)
        {
            WriteObject(summary);
        }
    }

    private AuditEvent Read()
    {
        var envelopes = new[] { ("api", ApiEnvelope), ("auth", AuthEnvelope), ("system", SystemEnvelope) }
            .Where(static x => PSValues.Unwrap(x.Item2) is not null).ToList();
        if (envelopes.Count > 1)
        {
            throw new FormatException($"The event holds {string.Join(" and ", envelopes.Select(static x => x.Item1))}: the provider's combined envelope wraps one event, send each on its own.");
        }

        if (envelopes.Count == 1)
        {
            var (name, inner) = envelopes[0];
            return AuditEventJson.Parse($"{{\"{name}\":{PSValues.Serialize(PSValues.Unwrap(inner))}}}");
        }

        var e = ReadPlain();
        var (kind, systemKind) = ResolveKind(PSValues.Text(Kind), PSValues.Text(SystemKind));
        kind ??= AuditEventJson.InferKind(e.StatusCode is not null, systemKind, e.Source is not null || e.SystemName is not null,
            e.Result is not null || e.FailureReason is not null || e.MfaType is not null || e.CountryCode is not null);
        return e with { Kind = kind.Value, SystemKind = systemKind };
    }

    /// <summary>-Kind names the event's kind, or (as the provider's plain system events do) the system event's own kind.</summary>
    private static (EventKind? Kind, string? SystemKind) ResolveKind(string? kind, string? systemKind)
    {
        if (kind is null)
        {
            return (null, systemKind);
        }

        if (EventKinds.TryParse(kind, out var parsed))
        {
            return (parsed, systemKind);
        }

        if (kind.Trim().ToLowerInvariant() is "cron" or "notification" or "unknown_kind")
        {
            return (EventKind.System, systemKind ?? kind.Trim().ToLowerInvariant());
        }

        throw new FormatException($"kind: '{Scope.Printable(kind, 40)}' is neither an event kind (Api, Authentication, System) nor a system event kind (cron, notification).");
    }

    private AuditEvent ReadPlain() => new()
    {
        Result = PSValues.Text(Result),
        FailureReason = PSValues.Text(FailureReason),
        Method = PSValues.Text(Method),
        Origin = PSValues.Text(Origin),
        MfaType = PSValues.Text(MfaType),
        CountryCode = PSValues.Text(CountryCode),
        Source = PSValues.Text(Source),
        SystemName = PSValues.Text(SystemName),
        Id = PSValues.Text(Id),
        RecordedAt = PSValues.Time(RecordedAt, "recorded_at"),
        Locality = PSValues.Text(Locality),
        OrganizationId = PSValues.Text(OrganizationId),
        ProjectId = PSValues.Text(ProjectId),
        PrincipalId = PSValues.Text(PrincipalId) ?? PSValues.PrincipalId(Principal),
        SourceIp = PSValues.Text(SourceIp),
        UserAgent = PSValues.Text(UserAgent),
        ProductName = PSValues.Text(ProductName),
        ServiceName = PSValues.Text(ServiceName),
        MethodName = PSValues.Text(MethodName),
        StatusCode = PSValues.Integer(StatusCode, "status_code"),
        RequestId = PSValues.Text(RequestId),
        RequestBody = PSValues.Json(RequestBody, "request_body"),
        Resources = PSValues.Resources(Resources),
    };

    private void Flush()
    {
        if (batch.Count == 0)
        {
            return;
        }

        var sent = batch.ToArray();
        batch.Clear();
        batchBytes = 0;
        var projectId = Connection.Settings.ProjectId;
        var retries = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var grains = Grains;
        var ok = TryCall(
            () => grains.IngestWithRetryAsync(
                projectId,
                [.. sent.Select(static s => s.Event)],
                Historical ? IngestMode.Historical : IngestMode.Live,
                policy: IngestRetryPolicy.Default with { Timeout = Connection.Settings.FailoverTimeout },
                onRetry: (ex, attempt, delay) => retries.Enqueue(AuditErrors.Unwrap(ex) is RateLimitExceededException
                    ? $"The API key's ingest rate limit was reached: batch {batches + 1} is sent again in {delay.TotalSeconds:0.###} s."
                    : $"Batch {batches + 1} was not acknowledged at attempt {attempt} ({AuditErrors.DescribeConnectionFailure(AuditErrors.Unwrap(ex))}); sending it again with the same event ids in {delay.TotalMilliseconds:0} ms."),
                cancellationToken: StopToken),
            "SendAuditEventFailed",
            null,
            out var result);
        foreach (var retry in retries)
        {
            WriteWarning(retry);
        }

        if (!ok)
        {
            summary.Rejected += sent.Length;
            return;
        }

        summary.Accepted += result.Accepted;
        summary.Duplicates += result.Duplicates;
        summary.Rejected += result.Rejected;
        var refused = result.Errors.Select(static e => e.Index).ToHashSet();
        for (var i = 0; i < sent.Length; i++)
        {
            if (!refused.Contains(i))
            {
                // The project the silo stores the event in: project_id, else organization_id, else the session's.
                summary.AddProject(Blank(sent[i].Event.ProjectId) ?? Blank(sent[i].Event.OrganizationId) ?? projectId);
            }
        }

        foreach (var error in result.Errors)
        {
            var (e, index, input) = error.Index >= 0 && error.Index < sent.Length ? sent[error.Index] : (null, -1, null);
            var denied = error.MissingPermission is not null;
            WriteAuditError(
                Describe(index, error.EventId ?? e?.Id, $"{error.Field}: {error.Message}"),
                denied ? AuditErrors.AccessDenied : "InvalidAuditEvent",
                denied ? ErrorCategory.PermissionDenied : ErrorCategory.InvalidData,
                input ?? (object?)e ?? error.EventId);
        }

        batches++;
        if (batches > 1 || batch.Count > 0)
        {
            WriteProgress(new ProgressRecord(1, "Sending audit events",
                $"{summary.Total} events read: {summary.Accepted} accepted, {summary.Duplicates} duplicates, {summary.Rejected} rejected"));
        }
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static string Describe(int index, string? id, string problem) =>
        id is { Length: > 0 }
            ? $"Event at index {index} (id '{Scope.Printable(id)}') was rejected: {problem}"
            : $"Event at index {index} was rejected: {problem}";
}
