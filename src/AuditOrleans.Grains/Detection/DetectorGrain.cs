using AuditOrleans.Grains.Detection;
using AuditOrleans.Grains.Diagnostics;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Rules;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// One project-region's detector and log writer. Appends are serialised by the grain (one
/// activation in the cluster, not reentrant), which keeps the hash chain linear. The 403
/// window and the chain head live in memory and are rebuilt from the log on activation, so a
/// crash loses neither; firings are committed in the same transaction as their events. The
/// open HttpForbiddenErrorRateHigh episode is durable (alert_episodes, written with each of its
/// notices) and read back on activation; while one is open a timer looks at it on the silo's
/// clock (docs/alerts.md, Episodes).
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
    /// <summary>How often the detector looks at its open episode on the silo's clock.</summary>
    public static readonly TimeSpan EpisodeCheckInterval = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan SingleEventMargin = TimeSpan.FromMinutes(5);

    private readonly ForbiddenRateWindow window = new();

    // The custom rules of the project-region: compiled once each, with their counting windows (docs/rules.md).
    private readonly RuleSet rules = new();

    // The open HttpForbiddenErrorRateHigh episode (null when none; window.EpisodeAlerted says the
    // same), the silo clock when a 403 was last stored, and the timer that runs while it is open.
    private ForbiddenEpisode? episode;
    private DateTimeOffset? lastForbiddenStoredAt;
    private IGrainTimer? episodeTimer;
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
        await RebuildRulesAsync(cancellationToken);
        UpdateEpisodeTimer();
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

        var enabledBefore = rules.EnabledCount;
        var newer = configuration.Version > configurationVersion;
        Apply(configuration.Active, configuration.Version, configuration.Rules);
        return newer && rules.EnabledCount > enabledBefore ? RebuildRulesAsync(CancellationToken.None) : Task.CompletedTask;
    }

    public Task<AppendResult> AppendAsync(IReadOnlyList<AuditEvent> events) => AppendAsync(events, IngestMode.Live);

    public async Task<AppendResult> AppendAsync(IReadOnlyList<AuditEvent> events, IngestMode mode)
    {
        ArgumentNullException.ThrowIfNull(events);
        var historical = mode == IngestMode.Historical;
        try
        {
            return await AppendOnceAsync(events, historical);
        }
        catch (DuplicateEventException)
        {
            // Another region of the project stored one of these ids in the meantime: the
            // dedup query now sees it.
            return await AppendOnceAsync(events, historical);
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
            EnabledRules = rules.EnabledCount,
            RuleErrors = rules.Errors,
        });

    public async Task CheckEpisodeAsync()
    {
        if (episode is not { } open)
        {
            UpdateEpisodeTimer();
            return;
        }

        var now = time.GetUtcNow();
        var savedWindow = window.Save();
        var savedEpisode = open.Clone();
        PendingFiring notice;
        if (IsQuiet(now))
        {
            notice = new PendingFiring(ResolvedNotice(open, window.Newest, now, open.Backfill), headSequence);
            episode = null;
            window.EndEpisode();
        }
        else if (UpdateDue(open, now) is { } change)
        {
            notice = new PendingFiring(UpdateNotice(open, change, now, open.Backfill), headSequence);
            open.Noticed(now, open.Backfill);
        }
        else
        {
            return;
        }

        IReadOnlyList<FiredAlert> fired;
        try
        {
            fired = await log.RecordFiringsAsync([notice]);
        }
        catch
        {
            window.Restore(savedWindow);
            episode = savedEpisode;
            throw;
        }

        await AfterCommitAsync(fired);
    }

    private async Task<AppendResult> AppendOnceAsync(IReadOnlyList<AuditEvent> events, bool historical)
    {
        foreach (var e in events)
        {
            if (e.ProjectId != projectId || e.Region != region || e.Id is null || e.RecordedAt is null || (e.Kind == EventKind.Api && e.StatusCode is null))
            {
                throw new ArgumentException("Events must be validated and routed by the ingestion grain before they reach a detector.", nameof(events));
            }
        }

        var existing = await log.FindExistingAsync(projectId, [.. events.Select(static e => e.Id!).Distinct(StringComparer.Ordinal)]);

        var savedWindow = window.Save();
        var savedEpisode = episode?.Clone();
        var savedRules = rules.EnabledCount > 0 ? rules.Save() : null;
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

            if (e.StatusCode == 403)
            {
                Forbidden(e, sequence, now, historical, firings);
            }

            if (ApiKeyRules.Match(e) is { } apiKeyAlert && IsActive(apiKeyAlert))
            {
                firings.Add(new PendingFiring(ApiKeyFiring(apiKeyAlert, e, now, historical), sequence));
            }

            if (rules.EnabledCount > 0 && rules.Evaluate(e) is { } ruleFirings)
            {
                foreach (var (rule, count) in ruleFirings)
                {
                    firings.Add(new PendingFiring(RuleFiring(rule, count, e, now, historical), sequence));
                }
            }
        }

        ReportRuleErrors();

        if (records.Count > 0 && episode is { } open && UpdateDue(open, now) is { } change)
        {
            firings.Add(new PendingFiring(UpdateNotice(open, change, now, historical), head.Sequence));
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
                rules.Restore(savedRules);
            }

            throw;
        }

        SetHead(head);
        if (records.Any(static r => r.Event.StatusCode == 403))
        {
            lastForbiddenStoredAt = now;
        }

        AuditMetrics.RecordAccepted(region, records.Count);
        AuditMetrics.RecordDuplicated(region, duplicates);
        AuditMetrics.RecordForbidden(region, records.Count(static r => r.Event.StatusCode == 403));
        await AfterCommitAsync(fired);
        return new AppendResult(records.Count, duplicates, fired);
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
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
        lastForbiddenStoredAt = newest.Length > 0 ? await log.GetLastForbiddenIngestedAsync(projectId, region, newest[0], cancellationToken) : null;
        window.Load(newest, episode is not null, lastEnd is { } end ? DbTime.ToMicros(end) : null);
    }

    /// <summary>
    /// Runs one stored 403 through the window and the open episode: it may end the episode (the
    /// window ending at it holds 20 or fewer), count in it, or start one.
    /// </summary>
    private void Forbidden(AuditEvent e, long sequence, DateTimeOffset now, bool historical, List<PendingFiring> firings)
    {
        var wasAlerted = window.EpisodeAlerted;
        var previousNewest = window.Newest;
        var opens = window.Add(DbTime.ToMicros(e.RecordedAt!.Value), IsActive(AlertName.HttpForbiddenErrorRateHigh));
        if (episode is { } open)
        {
            if (wasAlerted && !window.EpisodeAlerted)
            {
                firings.Add(new PendingFiring(ResolvedNotice(open, previousNewest, now, historical), sequence));
                episode = null;
            }
            else
            {
                open.Count(e);
            }
        }

        if (opens)
        {
            var firing = ForbiddenFiring(e, now, historical);
            firings.Add(new PendingFiring(firing, sequence));
            episode = ForbiddenEpisode.Open(firing);
        }
    }

    /// <summary>True when the open episode is over on the silo's clock: no 403 came for the window's length, and the window ending now holds 20 or fewer.</summary>
    private bool IsQuiet(DateTimeOffset now) =>
        (lastForbiddenStoredAt is not { } last || now - last >= AlertCatalog.ForbiddenWindow)
        && !window.ExceededAt(DbTime.ToMicros(now));

    /// <summary>What changed materially, when an update of the open episode is due: the alert is active and the repeat interval has passed since its last notice.</summary>
    private string? UpdateDue(ForbiddenEpisode open, DateTimeOffset now) =>
        IsActive(AlertName.HttpForbiddenErrorRateHigh) && now - open.NoticeAt >= options.Value.Alerts.EpisodeRepeatInterval
            ? open.MaterialChange()
            : null;

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
            LogFired(logger, alert.Alert, alert.Kind, projectId, region, alert.Id, alert.Deliveries.Count);
        }

        UpdateEpisodeTimer();
        if (fired.Any(static a => a.Deliveries.Count > 0))
        {
            await WakeNotificationsAsync();
        }
    }

    /// <summary>A timer while an episode is open (it keeps the activation alive), none otherwise.</summary>
    private void UpdateEpisodeTimer()
    {
        if (episode is not null && episodeTimer is null)
        {
            episodeTimer = this.RegisterGrainTimer(
                static (detector, _) => detector.CheckEpisodeAsync(),
                this,
                new GrainTimerCreationOptions(EpisodeCheckInterval, EpisodeCheckInterval) { KeepAlive = true });
        }
        else if (episode is null && episodeTimer is not null)
        {
            episodeTimer.Dispose();
            episodeTimer = null;
        }
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
            Apply(AlertConfigGrain.ActiveSet(state), state.Version, state.Rules);
        }
    }

    private void Apply(IEnumerable<AlertName> active, long version, IReadOnlyList<AlertRule> customRules)
    {
        if (version <= configurationVersion)
        {
            return;
        }

        foreach (var (rule, error) in rules.Apply(customRules))
        {
            LogRuleRefused(logger, rule.Name, projectId, region, error);
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

    private FiredAlert ForbiddenFiring(AuditEvent e, DateTimeOffset now, bool historical)
    {
        var newest = DbTime.FromMicros(window.Newest!.Value);
        var id = NewFiringId(now);
        return new FiredAlert
        {
            Id = id,
            ProjectId = projectId,
            Region = region,
            Alert = AlertName.HttpForbiddenErrorRateHigh,
            Severity = AlertCatalog.Get(AlertName.HttpForbiddenErrorRateHigh).Severity,
            TriggeredAt = now,
            EventTime = e.RecordedAt!.Value,
            WindowStart = newest - AlertCatalog.ForbiddenWindow,
            WindowEnd = newest,
            Facts = Facts(e) with { ForbiddenCount = window.CountInWindow },
            Kind = AlertKind.Firing,
            EpisodeId = id,
            IsBackfill = historical,
            IsLate = IsLate(e, now, historical),
        };
    }

    /// <summary>An update of the open episode: its facts are counted from the log over the episode so far.</summary>
    private FiredAlert UpdateNotice(ForbiddenEpisode open, string change, DateTimeOffset now, bool backfill)
    {
        var newest = window.Newest is { } n ? DbTime.FromMicros(n) : open.StartedAt;
        return EpisodeNotice(open, AlertKind.Update, newest, now, backfill) with { Facts = new AlertFacts { Change = change } };
    }

    /// <summary>The resolved notice of an episode whose last 403 was at <paramref name="lastMicros"/>: its facts cover the whole episode.</summary>
    private FiredAlert ResolvedNotice(ForbiddenEpisode open, long? lastMicros, DateTimeOffset now, bool backfill)
    {
        var last = lastMicros is { } l ? DbTime.FromMicros(l) : open.StartedAt;
        return EpisodeNotice(open, AlertKind.Resolved, last < open.StartedAt ? open.StartedAt : last, now, backfill || open.Backfill);
    }

    private FiredAlert EpisodeNotice(ForbiddenEpisode open, AlertKind kind, DateTimeOffset end, DateTimeOffset now, bool backfill) => new()
    {
        Id = NewFiringId(now),
        ProjectId = projectId,
        Region = region,
        Alert = AlertName.HttpForbiddenErrorRateHigh,
        Severity = AlertCatalog.Get(AlertName.HttpForbiddenErrorRateHigh).Severity,
        TriggeredAt = now,
        EventTime = end,
        WindowStart = open.StartedAt,
        WindowEnd = end,
        Facts = new AlertFacts(),
        Kind = kind,
        EpisodeId = open.Id,
        IsBackfill = backfill,
    };

    private FiredAlert ApiKeyFiring(AlertName alert, AuditEvent e, DateTimeOffset now, bool historical) => new()
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
        IsBackfill = historical,
        IsLate = IsLate(e, now, historical),
    };

    /// <summary>A live event stored more than Alerts:LatenessThreshold after it happened (docs/alerts.md, Backfill and late events).</summary>
    private bool IsLate(AuditEvent e, DateTimeOffset now, bool historical) =>
        !historical && now - e.RecordedAt!.Value > options.Value.Alerts.LatenessThreshold;

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Custom rule {Rule} of {ProjectId}/{Region} does not compile and is not evaluated: {Error}")]
    private static partial void LogRuleRefused(ILogger logger, string rule, string projectId, string region, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Custom rule {Rule} of {ProjectId}/{Region} could not be evaluated on an event (the event is stored and does not match; further errors of this rule are counted, not logged): {Error}")]
    private static partial void LogRuleError(ILogger logger, string rule, string projectId, string region, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Alert} ({Kind}) recorded in {ProjectId}/{Region} (firing {FiringId}, {Recipients} recipients)")]
    private static partial void LogFired(ILogger logger, AlertName alert, AlertKind kind, string projectId, string region, string firingId, int recipients);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not wake the notification outbox; it will deliver on its next round")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception);
}
