namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// An open HttpForbiddenErrorRateHigh episode as stored in <c>alert_episodes</c>
/// (docs/alerts.md, Episodes): what its last notice reported, from which a detector that
/// starts again goes on.
/// </summary>
/// <param name="Id">The id of the firing that opened it.</param>
/// <param name="StartedAt">Start of the opening firing's window.</param>
/// <param name="NoticeAt">Silo clock of its last notice (the firing or the last update).</param>
/// <param name="NoticeSequence">The log position the last notice counted up to.</param>
/// <param name="NoticeCount">403 events the last notice reported.</param>
/// <param name="NoticePrincipals">The top principals the last notice listed.</param>
/// <param name="NoticeSourceIps">The top source IPs the last notice listed.</param>
/// <param name="Backfill">True while every notice of the episode came from a historical send.</param>
public sealed record StoredEpisode(
    string Id,
    DateTimeOffset StartedAt,
    DateTimeOffset NoticeAt,
    long NoticeSequence,
    int NoticeCount,
    IReadOnlyList<string> NoticePrincipals,
    IReadOnlyList<string> NoticeSourceIps,
    bool Backfill);
