using AuditOrleans.Grains.Storage;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// Builds the notices a detector records for one project-region at one moment of the silo's
/// clock (docs/alerts.md): the firing of a single-event alert or of a custom rule, and the
/// firing, updates and resolution of an HttpForbiddenErrorRateHigh episode. Made on the stack
/// for a batch or a check, so the detector keeps nothing for it.
/// </summary>
internal readonly struct AlertNotices(string projectId, string region, DateTimeOffset now, TimeSpan latenessThreshold)
{
    private static readonly TimeSpan SingleEventMargin = TimeSpan.FromMinutes(5);

    /// <summary>The firing that opens an episode: the window ends at the newest 403 and holds <paramref name="countInWindow"/>.</summary>
    public FiredAlert ForbiddenFiring(AuditEvent e, long newestMicros, int countInWindow, bool historical)
    {
        var newest = DbTime.FromMicros(newestMicros);
        var id = NewFiringId();
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
            Facts = Facts(e) with { ForbiddenCount = countInWindow },
            Kind = AlertKind.Firing,
            EpisodeId = id,
            IsBackfill = historical,
            IsLate = IsLate(e, historical),
        };
    }

    /// <summary>An update of the open episode: its facts are counted from the log over the episode so far.</summary>
    public FiredAlert Update(ForbiddenEpisode open, string change, long? newestMicros, bool backfill)
    {
        var newest = newestMicros is { } n ? DbTime.FromMicros(n) : open.StartedAt;
        return Episode(open, AlertKind.Update, newest, backfill) with { Facts = new AlertFacts { Change = change } };
    }

    /// <summary>The resolved notice of an episode whose last 403 was at <paramref name="lastMicros"/>: its facts cover the whole episode.</summary>
    public FiredAlert Resolved(ForbiddenEpisode open, long? lastMicros, bool backfill)
    {
        var last = lastMicros is { } l ? DbTime.FromMicros(l) : open.StartedAt;
        return Episode(open, AlertKind.Resolved, last < open.StartedAt ? open.StartedAt : last, backfill || open.Backfill);
    }

    /// <summary>The firing of a single-event API-key alert (<see cref="ApiKeyRules"/>).</summary>
    public FiredAlert ApiKeyFiring(AlertName alert, AuditEvent e, bool historical) => new()
    {
        Id = NewFiringId(),
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
        IsLate = IsLate(e, historical),
    };

    /// <summary>The firing of a custom rule that counted <paramref name="count"/> matches ending at <paramref name="e"/> (docs/rules.md).</summary>
    public FiredAlert RuleFiring(AlertRule rule, int count, AuditEvent e, bool historical) => new()
    {
        Id = NewFiringId(),
        ProjectId = projectId,
        Region = region,
        Alert = AlertName.CustomRule,
        Severity = AlertRule.ToAlertSeverity(rule.Severity),
        TriggeredAt = now,
        EventTime = e.RecordedAt!.Value,
        WindowStart = e.RecordedAt!.Value - rule.EvaluationWindow,
        WindowEnd = e.RecordedAt!.Value,
        Facts = Facts(e) with { Rule = rule.ToFacts(), MatchCount = count },
        IsBackfill = historical,
        IsLate = IsLate(e, historical),
    };

    private FiredAlert Episode(ForbiddenEpisode open, AlertKind kind, DateTimeOffset end, bool backfill) => new()
    {
        Id = NewFiringId(),
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

    /// <summary>A live event stored more than Alerts:LatenessThreshold after it happened (docs/alerts.md, Backfill and late events).</summary>
    private bool IsLate(AuditEvent e, bool historical) => !historical && now - e.RecordedAt!.Value > latenessThreshold;

    private static AlertFacts Facts(AuditEvent e) => new()
    {
        EventId = e.Id,
        PrincipalId = e.PrincipalId,
        SourceIp = e.SourceIp,
        MethodName = e.MethodName,
        StatusCode = e.StatusCode,
        UserAgent = e.UserAgent,
    };

    private string NewFiringId() => Guid.CreateVersion7(now).ToString("N");
}
