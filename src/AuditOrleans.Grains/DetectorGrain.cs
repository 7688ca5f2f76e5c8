using AuditOrleans.Grains.Detection;
using AuditOrleans.Grains.Diagnostics;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains;

/// <summary>
/// One project-region's detector and log writer. Appends are serialised by the grain (one
/// activation in the cluster, not reentrant), which keeps the hash chain linear. The 403
/// window and the chain head live in memory and are rebuilt from the log on activation, so a
/// crash loses neither; firings are committed in the same transaction as their events.
/// </summary>
public sealed partial class DetectorGrain(
    AuditLogStore log,
    IOptions<AuditOrleansOptions> options,
    TimeProvider time,
    ILogger<DetectorGrain> logger) : Grain, IDetectorGrain
{
    private static readonly TimeSpan SingleEventMargin = TimeSpan.FromMinutes(5);

    private readonly ForbiddenRateWindow window = new();
    private string projectId = "";
    private string region = "";
    private ChainHead head = ChainHead.Empty;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (projectId, region) = GrainKeys.ProjectRegion(this.GetPrimaryKeyString(), options.Value.Regions);
        await LoadAsync(cancellationToken);
        AuditMetrics.RecordDetectorActivation(region);
    }

    public async Task<AppendResult> AppendAsync(IReadOnlyList<AuditEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        try
        {
            return await AppendOnceAsync(events);
        }
        catch (DuplicateEventException)
        {
            // Another region of the project stored one of these ids in the meantime: the
            // dedup query now sees it.
            return await AppendOnceAsync(events);
        }
    }

    public Task<DetectorStatus> GetStatusAsync() =>
        Task.FromResult(new DetectorStatus(
            window.CountInWindow,
            window.Newest is { } n ? DbTime.FromMicros(n) : null,
            window.EpisodeAlerted,
            head.Sequence));

    private async Task<AppendResult> AppendOnceAsync(IReadOnlyList<AuditEvent> events)
    {
        foreach (var e in events)
        {
            if (e.ProjectId != projectId || e.Region != region || e.Id is null || e.RecordedAt is null || e.StatusCode is null)
            {
                throw new ArgumentException("Events must be validated and routed by the ingestion grain before they reach a detector.", nameof(events));
            }
        }

        var existing = await log.FindExistingAsync(projectId, [.. events.Select(static e => e.Id!).Distinct(StringComparer.Ordinal)]);
        var config = await GrainFactory.GetGrain<IAlertConfigGrain>(this.GetPrimaryKeyString()).GetAsync();

        var savedWindow = window.Save();
        var savedHead = head;
        var now = time.GetUtcNow();
        var records = new List<NewRecord>(events.Count);
        var firings = new List<PendingFiring>();
        var duplicates = 0;
        foreach (var e in events)
        {
            if (!existing.Add(e.Id!))
            {
                duplicates++;
                continue;
            }

            var payload = AuditEventJson.Serialize(e);
            var sequence = head.Sequence + 1;
            var hash = HashChain.Compute(projectId, region, sequence, head.Hash, payload);
            records.Add(new NewRecord(e, sequence, payload, head.Hash, hash, now));
            head = new ChainHead(sequence, hash);

            if (e.StatusCode == 403 && window.Add(DbTime.ToMicros(e.RecordedAt!.Value), config.IsActive(AlertName.HttpForbiddenErrorRateHigh)))
            {
                firings.Add(new PendingFiring(ForbiddenFiring(e, now), sequence));
            }

            if (ApiKeyRules.Match(e) is { } apiKeyAlert && config.IsActive(apiKeyAlert))
            {
                firings.Add(new PendingFiring(ApiKeyFiring(apiKeyAlert, e, now), sequence));
            }
        }

        IReadOnlyList<FiredAlert> fired;
        try
        {
            fired = records.Count == 0 ? [] : await log.AppendAsync(projectId, region, records, firings);
        }
        catch
        {
            window.Restore(savedWindow);
            head = savedHead;
            throw;
        }

        AuditMetrics.RecordAccepted(region, records.Count);
        AuditMetrics.RecordDuplicated(region, duplicates);
        AuditMetrics.RecordForbidden(region, records.Count(static r => r.Event.StatusCode == 403));
        foreach (var alert in fired)
        {
            AuditMetrics.RecordFired(alert.Alert, region);
            LogFired(logger, alert.Alert, projectId, region, alert.Id, alert.Deliveries.Count);
        }

        if (fired.Count > 0)
        {
            await WakeNotificationsAsync();
        }

        return new AppendResult(records.Count, duplicates, fired);
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        head = await log.GetHeadAsync(projectId, region, cancellationToken);
        var newest = await log.GetNewestForbiddenAsync(projectId, region, ForbiddenRateWindow.Capacity, cancellationToken);
        var lastWindowEnd = await log.GetLastFiringWindowEndAsync(projectId, region, AlertName.HttpForbiddenErrorRateHigh, cancellationToken);

        // The episode already fired when the last firing's window overlaps the current one.
        var alerted = lastWindowEnd is { } end && newest.Length > 0
            && DbTime.ToMicros(end) >= newest[^1] - ForbiddenRateWindow.WindowMicros;
        window.Load(newest, alerted);
    }

    private FiredAlert ForbiddenFiring(AuditEvent e, DateTimeOffset now)
    {
        var newest = DbTime.FromMicros(window.Newest!.Value);
        return new FiredAlert
        {
            Id = NewFiringId(now),
            ProjectId = projectId,
            Region = region,
            Alert = AlertName.HttpForbiddenErrorRateHigh,
            Severity = AlertCatalog.Get(AlertName.HttpForbiddenErrorRateHigh).Severity,
            TriggeredAt = now,
            EventTime = e.RecordedAt!.Value,
            WindowStart = newest - AlertCatalog.ForbiddenWindow,
            WindowEnd = newest,
            Facts = Facts(e) with { ForbiddenCount = window.CountInWindow },
        };
    }

    private FiredAlert ApiKeyFiring(AlertName alert, AuditEvent e, DateTimeOffset now) => new()
    {
        Id = NewFiringId(now),
        ProjectId = projectId,
        Region = region,
        Alert = alert,
        Severity = AlertCatalog.Get(alert).Severity,
        TriggeredAt = now,
        EventTime = e.RecordedAt!.Value,
        WindowStart = e.RecordedAt!.Value - SingleEventMargin,
        WindowEnd = e.RecordedAt!.Value + SingleEventMargin,
        Facts = Facts(e) with { ApiKeyId = ApiKeyRules.ApiKeyId(e) },
    };

    private static AlertFacts Facts(AuditEvent e) => new()
    {
        EventId = e.Id,
        PrincipalId = e.PrincipalId,
        SourceIp = e.SourceIp,
        MethodName = e.MethodName,
        StatusCode = e.StatusCode,
        UserAgent = e.UserAgent,
    };

    private static string NewFiringId(DateTimeOffset now) => Guid.CreateVersion7(now).ToString("N");

    private async Task WakeNotificationsAsync()
    {
        try
        {
            await GrainFactory.GetGrain<INotificationGrain>(0).WakeAsync();
        }
        catch (Exception ex)
        {
            // The firing is recorded: the outbox's own timer delivers it later.
            LogWakeFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Alert} fired in {ProjectId}/{Region} (firing {FiringId}, {Recipients} recipients)")]
    private static partial void LogFired(ILogger logger, AlertName alert, string projectId, string region, string firingId, int recipients);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not wake the notification outbox; it will deliver on its next round")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception);
}
