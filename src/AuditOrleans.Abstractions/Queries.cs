namespace AuditOrleans;

/// <summary>Order of a log query.</summary>
public enum SortOrder
{
    NewestFirst = 0,
    OldestFirst = 1,
}

/// <summary>A filtered, paged query over a project-region's audit log.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AuditQuery")]
public sealed record AuditQuery
{
    [Id(0)] public required string ProjectId { get; init; }

    /// <summary>Region; null queries every region of the project.</summary>
    [Id(1)] public string? Region { get; init; }

    /// <summary>Inclusive lower bound on recorded_at; default one hour before now.</summary>
    [Id(2)] public DateTimeOffset? RecordedAfter { get; init; }

    /// <summary>Inclusive upper bound on recorded_at; default now.</summary>
    [Id(3)] public DateTimeOffset? RecordedBefore { get; init; }

    [Id(4)] public string? PrincipalId { get; init; }

    [Id(5)] public string? SourceIp { get; init; }

    [Id(6)] public string? MethodName { get; init; }

    [Id(7)] public int? StatusCode { get; init; }

    [Id(8)] public string? ProductName { get; init; }

    [Id(9)] public string? ResourceId { get; init; }

    [Id(10)] public SortOrder Order { get; init; }

    /// <summary>Page size (1..<see cref="QueryLimits.MaxPageSize"/>, default <see cref="QueryLimits.DefaultPageSize"/>).</summary>
    [Id(11)] public int PageSize { get; init; } = QueryLimits.DefaultPageSize;

    /// <summary>Opaque token from a previous page; null for the first page.</summary>
    [Id(12)] public string? ContinuationToken { get; init; }

    /// <summary>Status class: 1 to 5 for 1xx to 5xx (with <see cref="StatusCode"/>, both apply); null for any.</summary>
    [Id(13)] public int? StatusClass { get; init; }

    /// <summary>Only events of this kind (docs/events.md, Event kinds); null for every kind.</summary>
    [Id(14)] public EventKind? Kind { get; init; }
}

/// <summary>One page of query results.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AuditPage")]
public sealed record AuditPage(
    [property: Id(0)] IReadOnlyList<AuditRecord> Records,
    [property: Id(1)] string? ContinuationToken);

/// <summary>Result of walking a project-region's hash chain.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.IntegrityReport")]
public sealed record IntegrityReport(
    [property: Id(0)] string ProjectId,
    [property: Id(1)] string Region,
    [property: Id(2)] bool IsValid,
    [property: Id(3)] long EventsChecked,
    [property: Id(4)] long? FirstBrokenSequence,
    [property: Id(5)] string? FirstBrokenEventId,
    [property: Id(6)] string? Reason,
    [property: Id(7)] string? HeadHash,
    [property: Id(8)] long HeadSequence)
{
    /// <summary>Position of the chain's retention anchor: events up to it were purged (0: never purged).</summary>
    [Id(9)] public long PurgedThroughSequence { get; init; }

    /// <summary>When the retention purge that made the anchor ran, as the anchor says.</summary>
    [Id(10)] public DateTimeOffset? PurgedAt { get; init; }
}

/// <summary>Filter for alert history.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AlertHistoryQuery")]
public sealed record AlertHistoryQuery
{
    [Id(0)] public required string ProjectId { get; init; }

    [Id(1)] public string? Region { get; init; }

    [Id(2)] public AlertName? Alert { get; init; }

    [Id(3)] public DateTimeOffset? TriggeredAfter { get; init; }

    [Id(4)] public int Limit { get; init; } = QueryLimits.DefaultAlertHistory;

    /// <summary>Only this firing (its id, 32 hex digits).</summary>
    [Id(40)] public string? FiringId { get; init; }

    /// <summary>Only the firings this silence held.</summary>
    [Id(41)] public string? SilenceId { get; init; }
}

/// <summary>
/// A published chain head: the hash of a project-region's log at a position, signed by the
/// silo. Keep these outside the database (Get-AuditTrailCheckpoint | Export-Csv): a chain that
/// no longer matches a checkpoint you kept was rewritten.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.ChainCheckpoint")]
public sealed record ChainCheckpoint(
    [property: Id(0)] string ProjectId,
    [property: Id(1)] string Region,
    [property: Id(2)] long Sequence,
    [property: Id(3)] string Hash,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] string Signature);
