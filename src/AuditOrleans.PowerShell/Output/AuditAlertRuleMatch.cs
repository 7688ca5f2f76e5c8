namespace AuditOrleans.PowerShell;

/// <summary>
/// One event a tested query matched (Test-AuditAlertRule): when it happened, how many matches the
/// window counted with it, and whether the rule would have fired on it. An event the query could
/// not evaluate is listed with its Error (it does not match).
/// </summary>
public sealed class AuditAlertRuleMatch
{
    /// <summary>Position of the event in the file or in the stored events replayed (0-based).</summary>
    public int Index { get; init; }

    public DateTimeOffset? RecordedAt { get; init; }

    public string? EventId { get; init; }

    public EventKind Kind { get; init; }

    /// <summary>Matches in the window with this one (toward -Occurrences).</summary>
    public int Count { get; init; }

    /// <summary>True when the rule would have fired on this event.</summary>
    public bool Fires { get; init; }

    /// <summary>The event in a few words (method and status, sign-in result, system action).</summary>
    public string? Summary { get; init; }

    /// <summary>Why the query could not be evaluated on this event, if it could not.</summary>
    public string? Error { get; init; }

    internal static AuditAlertRuleMatch From(RuleTestMatch match) => new()
    {
        Index = match.Index,
        RecordedAt = match.RecordedAt,
        EventId = match.EventId,
        Kind = match.Kind,
        Count = match.Count,
        Fires = match.Fires,
        Summary = match.Summary,
        Error = match.Error,
    };

    public override string ToString() => $"{Index} {EventId} {(Fires ? "fires" : Error is null ? "matches" : "error")}";
}
