namespace AuditOrleans.PowerShell;

/// <summary>Result of Test-AuditTrailIntegrity for one project-region.</summary>
public sealed class AuditTrailIntegrityResult
{
    public required string ProjectId { get; init; }

    public required string Region { get; init; }

    /// <summary>
    /// True when every event's hash matches and links to the previous one, and the retention
    /// anchor the chain starts from (if any) is signed with the installation's checkpoint key and
    /// fits Retention:Days.
    /// </summary>
    public required bool IsValid { get; init; }

    public long EventsChecked { get; init; }

    /// <summary>Sequence of the first event whose hash or link does not match (null when valid).</summary>
    public long? FirstBrokenSequence { get; init; }

    public string? FirstBrokenEventId { get; init; }

    /// <summary>Why the chain is broken there.</summary>
    public string? Reason { get; init; }

    public long HeadSequence { get; init; }

    public string? HeadHash { get; init; }

    /// <summary>Events up to this position were purged by retention (0: none), as the chain's retention anchor says.</summary>
    public long PurgedThroughSequence { get; init; }

    /// <summary>When the retention purge that cut the chain ran, as its anchor says.</summary>
    public DateTimeOffset? PurgedAt { get; init; }

    internal static AuditTrailIntegrityResult From(IntegrityReport r) => new()
    {
        ProjectId = r.ProjectId,
        Region = r.Region,
        IsValid = r.IsValid,
        EventsChecked = r.EventsChecked,
        FirstBrokenSequence = r.FirstBrokenSequence,
        FirstBrokenEventId = r.FirstBrokenEventId,
        Reason = r.Reason,
        HeadSequence = r.HeadSequence,
        HeadHash = r.HeadHash,
        PurgedThroughSequence = r.PurgedThroughSequence,
        PurgedAt = r.PurgedAt,
    };
}
