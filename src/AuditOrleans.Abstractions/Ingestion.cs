namespace AuditOrleans;

/// <summary>How a batch of events is sent (docs/alerts.md, Backfill and late events).</summary>
public enum IngestMode
{
    /// <summary>Events as they happen: the alerts they match are emailed.</summary>
    Live = 0,

    /// <summary>
    /// History (a replayed export, a migration): stored and chained as usual, the alerts they
    /// match recorded in the history as backfill, nothing emailed.
    /// </summary>
    Historical = 1,
}

/// <summary>What happened to a batch of events sent for ingestion.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.IngestResult")]
public sealed record IngestResult(
    [property: Id(0)] int Accepted,
    [property: Id(1)] int Duplicates,
    [property: Id(2)] IReadOnlyList<EventError> Errors)
{
    public int Rejected => Errors.Count;

    public static IngestResult Empty { get; } = new(0, 0, []);
}

/// <summary>
/// Why one event of a batch was rejected: its position in the batch, its id when it had one,
/// the field at fault (snake_case, as on the wire) and a message that says what to do.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.EventError")]
public sealed record EventError(
    [property: Id(0)] int Index,
    [property: Id(1)] string? EventId,
    [property: Id(2)] string Field,
    [property: Id(3)] string Message)
{
    /// <summary>Set when the event was refused by access control (another project than the caller's key): the permission it lacked.</summary>
    [Id(4)] public Permission? MissingPermission { get; init; }
}

/// <summary>What a project-region's detector did with the events routed to it.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AppendResult")]
public sealed record AppendResult(
    [property: Id(0)] int Accepted,
    [property: Id(1)] int Duplicates,
    [property: Id(2)] IReadOnlyList<FiredAlert> Fired);
