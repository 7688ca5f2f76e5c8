using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Diagnostics;
using AuditOrleans.Grains.Rules;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// One project-region's detector and log writer. Appends are serialised by the grain (one
/// activation in the cluster, not reentrant), which keeps the hash chain linear. The 403
/// window and the chain head live in memory and are rebuilt from the log on activation, so a
/// crash loses neither; firings are committed in the same transaction as their events. The
/// open HttpForbiddenErrorRateHigh episode is durable (alert_episodes, written with each of its
/// notices) and read back on activation; while one is open a timer looks at it on the silo's
/// clock (docs/alerts.md, Episodes; DetectorGrain.Episode.cs).
/// The active alerts are held here too (DetectorGrain.Configuration.cs), and the custom rules
/// (DetectorGrain.Rules.cs). A detector is kept per active project-region, so its fields are
/// kept small (docs/architecture.md, Detector memory).
/// </summary>
public sealed partial class DetectorGrain(DetectorServices services) : Grain, IDetectorGrain
{
    private readonly ForbiddenRateWindow window = new();

    // The custom rules of the project-region: compiled once each, with their counting windows
    // (docs/rules.md); null until the project-region has a custom rule.
    private RuleSet? rules;

    // The configured instance of the region's name (shared by the region's detectors). The
    // project id is not kept: it is cut from the grain key per call (see ProjectId).
    private string region = "";

    // The chain head, packed: 32 bytes instead of a 64-character string (see PackedHash). A head
    // hash read from the log that is not in the canonical form is kept as read.
    private long headSequence;
    private PackedHash headHash;
    private string? irregularHeadHash;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (projectId, known) = GrainKeys.ProjectRegion(this.GetPrimaryKeyString(), services.Options.Regions);
        region = known;
        await Task.WhenAll(LoadAsync(projectId, cancellationToken), LoadConfigurationAsync(projectId));
        await RebuildRulesAsync(projectId, cancellationToken);
        UpdateEpisodeTimer();
        AuditMetrics.RecordDetectorActivation(region);
    }

    public Task<AppendResult> AppendAsync(IReadOnlyList<AuditEvent> events) => AppendAsync(events, IngestMode.Live);

    public async Task<AppendResult> AppendAsync(IReadOnlyList<AuditEvent> events, IngestMode mode)
    {
        ArgumentNullException.ThrowIfNull(events);
        var historical = mode == IngestMode.Historical;
        var projectId = ProjectId();
        try
        {
            return await AppendOnceAsync(projectId, events, historical);
        }
        catch (DuplicateEventException)
        {
            // Another region of the project stored one of these ids in the meantime: the
            // dedup query now sees it.
            return await AppendOnceAsync(projectId, events, historical);
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
            OpenEpisodeId = episode?.Id,
            EnabledRules = EnabledRules,
            RuleErrors = rules?.Errors ?? 0,
        });

    private async Task<AppendResult> AppendOnceAsync(string projectId, IReadOnlyList<AuditEvent> events, bool historical)
    {
        foreach (var e in events)
        {
            if (e.ProjectId != projectId || e.Region != region || e.Id is null || e.RecordedAt is null || (e.Kind == EventKind.Api && e.StatusCode is null))
            {
                throw new ArgumentException("Events must be validated and routed by the ingestion grain before they reach a detector.", nameof(events));
            }
        }

        var log = services.Log;
        var existing = await log.FindExistingAsync(projectId, [.. events.Select(static e => e.Id!).Distinct(StringComparer.Ordinal)]);

        var savedWindow = window.Save();
        var savedEpisode = episode?.Clone();
        var ruleSet = rules is { EnabledCount: > 0 } enabled ? enabled : null;
        var savedRules = ruleSet?.Save();
        var head = Head;
        var now = services.Time.GetUtcNow();
        var notices = Notices(projectId, now);
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

            if (e.StatusCode == 403)
            {
                Forbidden(e, sequence, notices, historical, firings);
            }

            if (ApiKeyRules.Match(e) is { } apiKeyAlert && IsActive(apiKeyAlert))
            {
                firings.Add(new PendingFiring(notices.ApiKeyFiring(apiKeyAlert, e, historical), sequence));
            }

            if (ruleSet?.Evaluate(e) is { } ruleFirings)
            {
                foreach (var (rule, count) in ruleFirings)
                {
                    firings.Add(new PendingFiring(notices.RuleFiring(rule, count, e, historical), sequence));
                }
            }
        }

        ReportRuleErrors(projectId);

        if (records.Count > 0 && episode is { } open && UpdateDue(open, now) is { } change)
        {
            firings.Add(new PendingFiring(notices.Update(open, change, window.Newest, historical), head.Sequence));
            open.Noticed(now, historical);
        }

        IReadOnlyList<FiredAlert> fired;
        try
        {
            fired = records.Count == 0 ? [] : await log.AppendAsync(projectId, region, records, firings);
        }
        catch
        {
            window.Restore(savedWindow);
            episode = savedEpisode;
            if (savedRules is not null)
            {
                ruleSet!.Restore(savedRules);
            }

            throw;
        }

        SetHead(head);
        if (records.Any(static r => r.Event.StatusCode == 403))
        {
            lastForbiddenStoredTicks = now.UtcTicks;
        }

        AuditMetrics.RecordAccepted(region, records.Count);
        AuditMetrics.RecordDuplicated(region, duplicates);
        AuditMetrics.RecordForbidden(region, records.Count(static r => r.Event.StatusCode == 403));
        await AfterCommitAsync(fired);
        return new AppendResult(records.Count, duplicates, fired);
    }

    private async Task LoadAsync(string projectId, CancellationToken cancellationToken)
    {
        var log = services.Log;
        SetHead(await log.GetHeadAsync(projectId, region, cancellationToken));
        var newest = await log.GetNewestForbiddenAsync(projectId, region, ForbiddenRateWindow.Capacity, cancellationToken);
        if (await log.GetOpenEpisodeAsync(projectId, region, AlertName.HttpForbiddenErrorRateHigh, cancellationToken) is { } stored)
        {
            // The episode goes on where its last notice left it: the 403s stored since then are counted again.
            var since = await log.GetForbiddenActivityAsync(
                projectId, region, stored.NoticeSequence, DbTime.ToMicros(stored.StartedAt), TopValues.Capacity, cancellationToken);
            episode = ForbiddenEpisode.Restore(stored, since);
        }

        var lastEnd = episode is null ? await log.GetLastEpisodeEndAsync(projectId, region, AlertName.HttpForbiddenErrorRateHigh, cancellationToken) : null;
        var lastStored = newest.Length > 0 ? await log.GetLastForbiddenIngestedAsync(projectId, region, newest[0], cancellationToken) : null;
        lastForbiddenStoredTicks = lastStored is { } at ? at.UtcTicks : Never;
        window.Load(newest, episode is not null, lastEnd is { } end ? DbTime.ToMicros(end) : null);
    }

    /// <summary>After a commit: the episode learns what its notice reported, the outbox is woken, the timer follows the episode.</summary>
    private async Task AfterCommitAsync(IReadOnlyList<FiredAlert> fired)
    {
        foreach (var alert in fired)
        {
            if (episode is { } open && alert.EpisodeId == open.Id && alert.Kind != AlertKind.Resolved)
            {
                open.Reported(alert.Facts);
            }

            AuditMetrics.RecordFired(alert.Alert, region);
            LogFired(services.Logger, alert.Alert, alert.Kind, alert.ProjectId, alert.Region, alert.Id, alert.Deliveries.Count);
        }

        UpdateEpisodeTimer();
        if (fired.Any(static a => a.Deliveries.Count > 0))
        {
            await WakeNotificationsAsync();
        }
    }

    /// <summary>
    /// The project id, cut from the grain key (checked at activation) once per call: an id kept
    /// in every detector would cost its string per active project-region.
    /// </summary>
    private string ProjectId()
    {
        var key = this.GetPrimaryKeyString();
        return key[..key.LastIndexOf('/')];
    }

    /// <summary>The notices of this project-region at <paramref name="now"/>.</summary>
    private AlertNotices Notices(string projectId, DateTimeOffset now) =>
        new(projectId, region, now, services.Options.Alerts.LatenessThreshold);

    private ChainHead Head => new(headSequence, irregularHeadHash ?? headHash.ToString());

    private void SetHead(ChainHead head)
    {
        headSequence = head.Sequence;
        irregularHeadHash = PackedHash.TryPack(head.Hash, out headHash) ? null : head.Hash;
    }

    private async Task WakeNotificationsAsync()
    {
        try
        {
            await GrainFactory.GetGrain<INotificationGrain>(0).WakeAsync();
        }
        catch (Exception ex)
        {
            // The firing is recorded: the outbox's own timer delivers it later.
            LogWakeFailed(services.Logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Alert} ({Kind}) recorded in {ProjectId}/{Region} (firing {FiringId}, {Recipients} recipients)")]
    private static partial void LogFired(ILogger logger, AlertName alert, AlertKind kind, string projectId, string region, string firingId, int recipients);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not wake the notification outbox; it will deliver on its next round")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception);
}
