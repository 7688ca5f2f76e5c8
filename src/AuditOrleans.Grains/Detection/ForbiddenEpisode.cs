using System.Globalization;
using AuditOrleans.Grains.AuditLog;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// The open HttpForbiddenErrorRateHigh episode of a project-region as its detector holds it
/// (docs/alerts.md, Episodes): what the last notice (the firing or the last update) reported,
/// and the 403s since then, to decide whether the episode changed materially. Durable in
/// <c>alert_episodes</c> (written with each notice) and rebuilt from there and from the log
/// when the detector starts.
/// </summary>
/// <remarks>
/// A change is material when the 403s since the last notice at least equal what it reported
/// (the episode's count has doubled), or when a principal or source IP is among the
/// <see cref="AuditLogWriter.TopCount"/> most frequent of the 403s since the last notice and
/// the last notice did not list it (a new attacker). The 403s since the notice are counted in
/// bounded memory (<see cref="TopValues"/>).
/// </remarks>
public sealed class ForbiddenEpisode
{
    private TopValues principals = new();
    private TopValues sourceIps = new();

    private ForbiddenEpisode(string id, DateTimeOffset startedAt, bool backfill)
    {
        Id = id;
        StartedAt = startedAt;
        Backfill = backfill;
    }

    /// <summary>The id of the firing that opened the episode.</summary>
    public string Id { get; }

    /// <summary>Start of the opening firing's window: the episode's facts are counted from here.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>True while every notice of the episode came from a historical send (nothing of it was emailed).</summary>
    public bool Backfill { get; private set; }

    /// <summary>Silo clock of the last notice.</summary>
    public DateTimeOffset NoticeAt { get; private set; }

    /// <summary>403 events the last notice reported (known once it is committed).</summary>
    public long NoticeCount { get; private set; }

    public IReadOnlySet<string> NoticePrincipals { get; private set; } = new HashSet<string>();

    public IReadOnlySet<string> NoticeSourceIps { get; private set; } = new HashSet<string>();

    /// <summary>403 events of the episode counted since the last notice.</summary>
    public long SinceNotice { get; private set; }

    /// <summary>A new episode, opened by the firing <paramref name="firing"/> (before its commit).</summary>
    public static ForbiddenEpisode Open(FiredAlert firing)
    {
        var episode = new ForbiddenEpisode(firing.Id, firing.WindowStart, firing.IsBackfill);
        episode.Noticed(firing.TriggeredAt, firing.IsBackfill);
        return episode;
    }

    /// <summary>The episode as stored, with the 403s the log holds after its last notice.</summary>
    public static ForbiddenEpisode Restore(StoredEpisode stored, ForbiddenActivity since)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(since);
        var episode = new ForbiddenEpisode(stored.Id, stored.StartedAt, stored.Backfill)
        {
            NoticeAt = stored.NoticeAt,
            NoticeCount = stored.NoticeCount,
            NoticePrincipals = stored.NoticePrincipals.ToHashSet(StringComparer.Ordinal),
            NoticeSourceIps = stored.NoticeSourceIps.ToHashSet(StringComparer.Ordinal),
            SinceNotice = since.Count,
        };
        foreach (var v in since.Principals)
        {
            episode.principals.Add(v.Value, v.Count);
        }

        foreach (var v in since.SourceIps)
        {
            episode.sourceIps.Add(v.Value, v.Count);
        }

        return episode;
    }

    /// <summary>Counts one 403 stored while the episode is open (one older than the episode's start does not belong to it).</summary>
    public void Count(AuditEvent e)
    {
        if (e.RecordedAt is not { } at || at < StartedAt)
        {
            return;
        }

        SinceNotice++;
        principals.Add(e.PrincipalId ?? AuditLogWriter.Anonymous);
        sourceIps.Add(e.SourceIp ?? AuditLogWriter.UnknownIp);
    }

    /// <summary>A notice (firing or update) is being recorded: counting starts again from it.</summary>
    public void Noticed(DateTimeOffset at, bool backfill)
    {
        NoticeAt = at;
        Backfill &= backfill;
        SinceNotice = 0;
        principals.Clear();
        sourceIps.Clear();
    }

    /// <summary>The notice was committed with these facts (counted from the log): they are what the next change is measured against.</summary>
    public void Reported(AlertFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        NoticeCount = facts.ForbiddenCount ?? 0;
        NoticePrincipals = facts.TopPrincipals.Select(static v => v.Value).ToHashSet(StringComparer.Ordinal);
        NoticeSourceIps = facts.TopSourceIps.Select(static v => v.Value).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>What changed materially since the last notice, in words for the update; null when nothing did.</summary>
    public string? MaterialChange()
    {
        var parts = new List<string>(3);
        if (NoticeCount > 0 && SinceNotice >= NoticeCount)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture,
                $"the 403 count doubled ({NoticeCount + SinceNotice} since the episode started, {NoticeCount} at the last notice)"));
        }

        var newPrincipals = principals.Top(AuditLogWriter.TopCount).Where(v => !NoticePrincipals.Contains(v)).ToList();
        if (newPrincipals.Count > 0)
        {
            parts.Add($"new among the top principals: {string.Join(", ", newPrincipals)}");
        }

        var newSourceIps = sourceIps.Top(AuditLogWriter.TopCount).Where(v => !NoticeSourceIps.Contains(v)).ToList();
        if (newSourceIps.Count > 0)
        {
            parts.Add($"new among the top source IPs: {string.Join(", ", newSourceIps)}");
        }

        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    /// <summary>A copy, to go back to if the batch that changes this one is not committed.</summary>
    public ForbiddenEpisode Clone()
    {
        var copy = (ForbiddenEpisode)MemberwiseClone();
        copy.principals = principals.Clone();
        copy.sourceIps = sourceIps.Clone();
        return copy;
    }
}
