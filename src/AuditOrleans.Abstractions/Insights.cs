namespace AuditOrleans;

/// <summary>
/// One stored event with its place in its project-region's hash chain and the check of its link
/// there (docs/security.md, Tamper evidence): its hash covers its content and the hash before it,
/// and the next event's link points at it. Only the whole walk (<see cref="IAuditLogGrain.VerifyAsync"/>)
/// proves the chain up to it; this check is the event's own link.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AuditEventDetail")]
public sealed record AuditEventDetail
{
    [Id(0)] public required AuditRecord Record { get; init; }

    /// <summary>The hash of the event before it (or of the retention anchor, or the chain's genesis) as stored with it.</summary>
    [Id(1)] public required string PreviousHash { get; init; }

    /// <summary>The newest position of the chain.</summary>
    [Id(2)] public required long HeadSequence { get; init; }

    /// <summary>Position of the chain's retention anchor: events up to it were purged (0: never purged).</summary>
    [Id(3)] public long PurgedThroughSequence { get; init; }

    /// <summary>True when the event's hash matches its content and its link, the event before it links in, and the one after it links to it.</summary>
    [Id(4)] public required bool LinkVerified { get; init; }

    /// <summary>What is wrong with the link when <see cref="LinkVerified"/> is false.</summary>
    [Id(5)] public string? LinkProblem { get; init; }
}

/// <summary>Counts of a project's events over a time range, per time bucket, with the principals and source IPs that had the most HTTP 403, then the most events.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.ActivityQuery")]
public sealed record ActivityQuery
{
    [Id(0)] public required string ProjectId { get; init; }

    /// <summary>Region; null counts every region of the project.</summary>
    [Id(1)] public string? Region { get; init; }

    /// <summary>Inclusive start of the range.</summary>
    [Id(2)] public required DateTimeOffset From { get; init; }

    /// <summary>Exclusive end of the range (at most <see cref="QueryLimits.MaxActivitySpan"/> after <see cref="From"/>).</summary>
    [Id(3)] public required DateTimeOffset To { get; init; }

    /// <summary>Width of a bucket: at least one second, and at most <see cref="QueryLimits.MaxActivityBuckets"/> buckets in the range.</summary>
    [Id(4)] public required TimeSpan Bucket { get; init; }

    /// <summary>How many principals and source IPs to return (0..<see cref="QueryLimits.MaxActivityTop"/>).</summary>
    [Id(5)] public int Top { get; init; } = 10;
}

/// <summary>The answer to an <see cref="ActivityQuery"/>.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.ActivitySummary")]
public sealed record ActivitySummary(
    [property: Id(0)] IReadOnlyList<ActivityBucket> Buckets,
    [property: Id(1)] IReadOnlyList<ActivityCount> TopPrincipals,
    [property: Id(2)] IReadOnlyList<ActivityCount> TopSourceIps);

/// <summary>The events of one time bucket, starting at <see cref="Start"/>; every bucket of the range is present, empty ones too.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.ActivityBucket")]
public sealed record ActivityBucket(
    [property: Id(0)] DateTimeOffset Start,
    [property: Id(1)] long Events,
    [property: Id(2)] long Forbidden,
    [property: Id(3)] long ClientErrors,
    [property: Id(4)] long ServerErrors);

/// <summary>A principal or source IP, its number of events in the range and how many of them were HTTP 403.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.ActivityCount")]
public sealed record ActivityCount(
    [property: Id(0)] string Value,
    [property: Id(1)] long Events,
    [property: Id(2)] long Forbidden);
