using AuditOrleans.Grains.Detection;
using AuditOrleans.Grains.Diagnostics;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using AuditOrleans.Grains.AuditLog;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// One project-region's detector and log writer. Appends are serialised by the grain (one
/// activation in the cluster, not reentrant), which keeps the hash chain linear. The 403
/// window and the chain head live in memory and are rebuilt from the log on activation, so a
/// crash loses neither; firings are committed in the same transaction as their events.
/// The active alerts are held here too: read from the alert-config grain's persisted state on
/// activation (without activating that grain) and replaced by what it pushes after each change,
/// so a project-region costs one activation and a batch no extra call.
/// </summary>
public sealed partial class DetectorGrain(
    AuditLogWriter log,
    IOptions<AuditOrleansOptions> options,
    TimeProvider time,
    ILogger<DetectorGrain> logger) : Grain, IDetectorGrain
{
    private static readonly TimeSpan SingleEventMargin = TimeSpan.FromMinutes(5);

    private readonly ForbiddenRateWindow window = new();
    private string projectId = "";
    private string region = "";

    // The chain head, packed: 32 bytes instead of a 64-character string (see PackedHash). A head
    // hash read from the log that is not in the canonical form is kept as read.
    private long headSequence;
    private PackedHash headHash;
    private string? irregularHeadHash;

    // The active alerts as a bit mask (bit n: AlertName n) and the version of the configuration
    // they come from; a pushed or read configuration replaces them only when it is newer.
    private int activeAlerts;
    private long configurationVersion;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (projectId, region) = GrainKeys.ProjectRegion(this.GetPrimaryKeyString(), options.Value.Regions);
        await Task.WhenAll(LoadAsync(cancellationToken), LoadConfigurationAsync());
        AuditMetrics.RecordDetectorActivation(region);
    }

    public Task ApplyConfigurationAsync(AlertConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (configuration.ProjectId != projectId || configuration.Region != region)
        {
            throw new ArgumentException(
                $"The configuration of {configuration.ProjectId}/{configuration.Region} was sent to the detector of {projectId}/{region}.", nameof(configuration));
        }

        Apply(configuration.Active, configuration.Version);
        return Task.CompletedTask;
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
            headSequence)
        {
            ActiveAlerts = Enum.GetValues<AlertName>().Where(IsActive).ToHashSet(),
            ConfigurationVersion = configurationVersion,
        });

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

        var savedWindow = window.Save();
        var head = Head;
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

            if (e.StatusCode == 403 && window.Add(DbTime.ToMicros(e.RecordedAt!.Value), IsActive(AlertName.HttpForbiddenErrorRateHigh)))
            {
                firings.Add(new PendingFiring(ForbiddenFiring(e, now), sequence));
            }

            if (ApiKeyRules.Match(e) is { } apiKeyAlert && IsActive(apiKeyAlert))
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
            throw;
        }

        SetHead(head);

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
        SetHead(await log.GetHeadAsync(projectId, region, cancellationToken));
        var newest = await log.GetNewestForbiddenAsync(projectId, region, ForbiddenRateWindow.Capacity, cancellationToken);
        var lastWindowEnd = await log.GetLastFiringWindowEndAsync(projectId, region, AlertName.HttpForbiddenErrorRateHigh, cancellationToken);

        // The episode already fired when the last firing's window overlaps the current one.
        var alerted = lastWindowEnd is { } end && newest.Length > 0
            && DbTime.ToMicros(end) >= newest[^1] - ForbiddenRateWindow.WindowMicros;
        window.Load(newest, alerted);
    }

    private ChainHead Head => new(headSequence, irregularHeadHash ?? headHash.ToString());

    private void SetHead(ChainHead head)
    {
        headSequence = head.Sequence;
        irregularHeadHash = PackedHash.TryPack(head.Hash, out headHash) ? null : head.Hash;
    }

    /// <summary>
    /// Reads the alert-config grain's persisted state straight from grain storage (the same row
    /// its <c>IPersistentState</c> uses), so that ingestion never activates that grain.
    /// </summary>
    private async Task LoadConfigurationAsync()
    {
        var storage = ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);
        var persisted = new GrainState<AlertConfigState>();
        var configGrain = GrainFactory.GetGrain<IAlertConfigGrain>(this.GetPrimaryKeyString()).GetGrainId();
        await storage.ReadStateAsync(AlertConfigState.StateName, configGrain, persisted);
        if (persisted.RecordExists && persisted.State is { } state)
        {
            Apply(AlertConfigGrain.ActiveSet(state), state.Version);
        }
    }

    private void Apply(IEnumerable<AlertName> active, long version)
    {
        if (version <= configurationVersion)
        {
            return;
        }

        var mask = 0;
        foreach (var alert in active)
        {
            mask |= 1 << (int)alert;
        }

        activeAlerts = mask;
        configurationVersion = version;
    }

    private bool IsActive(AlertName alert) => (activeAlerts & (1 << (int)alert)) != 0;

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
