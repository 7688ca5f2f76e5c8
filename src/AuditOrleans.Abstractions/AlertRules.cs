namespace AuditOrleans;

/// <summary>Severity of a custom alert rule, as the provider names it (docs/rules.md).</summary>
public enum RuleSeverity
{
    Info = 1,
    Warning = 2,
    Error = 3,
    Critical = 4,
}

/// <summary>
/// A custom alert rule of one project-region (docs/rules.md): a CEL query over the variable
/// <c>event</c>, fired when <see cref="Occurrences"/> events match within
/// <see cref="EvaluationWindow"/>. The query is fixed at creation; the name and description can change.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AlertRule")]
public sealed record AlertRule
{
    /// <summary>Stable id (a UUID), kept when the rule is renamed.</summary>
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Name { get; init; }

    [Id(2)] public string Description { get; init; } = "";

    /// <summary>The CEL query, as created.</summary>
    [Id(3)] public required string Query { get; init; }

    [Id(4)] public required TimeSpan EvaluationWindow { get; init; }

    [Id(5)] public required int Occurrences { get; init; }

    [Id(6)] public required RuleSeverity Severity { get; init; }

    [Id(7)] public bool Enabled { get; init; }

    /// <summary>Firings go to the history only; nobody is emailed.</summary>
    [Id(8)] public bool DryRun { get; init; }

    [Id(9)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Public id of the API key that created it.</summary>
    [Id(10)] public string? CreatedBy { get; init; }

    [Id(11)] public DateTimeOffset UpdatedAt { get; init; }

    [Id(12)] public string? UpdatedBy { get; init; }

    /// <summary>The facts a history entry records of this rule.</summary>
    public RuleFacts ToFacts() => new()
    {
        Id = Id,
        Name = Name,
        Description = string.IsNullOrEmpty(Description) ? null : Description,
        Query = Query,
        Occurrences = Occurrences,
        EvaluationWindow = EvaluationWindow,
        Severity = Severity,
        DryRun = DryRun,
    };

    /// <summary>The severity of the history's entries of a rule.</summary>
    public static AlertSeverity ToAlertSeverity(RuleSeverity severity) => severity switch
    {
        RuleSeverity.Info => AlertSeverity.Low,
        RuleSeverity.Warning => AlertSeverity.Medium,
        RuleSeverity.Error => AlertSeverity.High,
        _ => AlertSeverity.Critical,
    };
}

/// <summary>What New-AuditAlertRule sends.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AlertRuleDraft")]
public sealed record AlertRuleDraft
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public string? Description { get; init; }

    [Id(2)] public required string Query { get; init; }

    [Id(3)] public required TimeSpan EvaluationWindow { get; init; }

    [Id(4)] public required int Occurrences { get; init; }

    [Id(5)] public required RuleSeverity Severity { get; init; }

    [Id(6)] public bool DryRun { get; init; }

    /// <summary>Created enabled (the default) or disabled.</summary>
    [Id(7)] public bool Enabled { get; init; } = true;
}

/// <summary>
/// Thrown when a rule's query does not compile or type-check: <see cref="Line"/> and
/// <see cref="Column"/> (1-based) say where, <see cref="Reason"/> what is wrong.
/// </summary>
[GenerateSerializer]
[Alias("AuditOrleans.RuleQueryException")]
public sealed class RuleQueryException : ArgumentException
{
    public RuleQueryException()
    {
    }

    public RuleQueryException(string message)
        : base(message)
    {
    }

    public RuleQueryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RuleQueryException(string message, int line, int column, string reason)
        : base(message)
    {
        Line = line;
        Column = column;
        Reason = reason;
    }

    [Id(0)] public int Line { get; init; }

    [Id(1)] public int Column { get; init; }

    [Id(2)] public string? Reason { get; init; }
}

/// <summary>A dry run of a query over events (Test-AuditAlertRule): nothing is stored or sent.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.RuleTestRequest")]
public sealed record RuleTestRequest
{
    [Id(0)] public required string Query { get; init; }

    [Id(1)] public required TimeSpan EvaluationWindow { get; init; }

    [Id(2)] public required int Occurrences { get; init; }

    /// <summary>Events to replay in this order (a JSON lines file); null to replay the stored events of the project-region between <see cref="Start"/> and <see cref="End"/>.</summary>
    [Id(3)] public IReadOnlyList<AuditEvent>? Events { get; init; }

    [Id(4)] public DateTimeOffset? Start { get; init; }

    [Id(5)] public DateTimeOffset? End { get; init; }

    /// <summary>The counting state left by the previous chunk of the same replay (null for the first).</summary>
    [Id(6)] public RuleWindowState? State { get; init; }
}

/// <summary>A rule's counting window: the times (microseconds) of the matches counted since its last firing.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.RuleWindowState")]
public sealed record RuleWindowState(
    [property: Id(0)] IReadOnlyList<long> Matches,
    [property: Id(1)] long? LastFiredAt);

/// <summary>One event a tested query matched, or could not evaluate.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.RuleTestMatch")]
public sealed record RuleTestMatch
{
    /// <summary>Position of the event in the replay (0-based).</summary>
    [Id(0)] public int Index { get; init; }

    [Id(1)] public string? EventId { get; init; }

    [Id(2)] public DateTimeOffset? RecordedAt { get; init; }

    [Id(3)] public EventKind Kind { get; init; }

    /// <summary>Matches counted in the window, this one included (0 for an evaluation error).</summary>
    [Id(4)] public int Count { get; init; }

    /// <summary>True when the live rule would fire on this event.</summary>
    [Id(5)] public bool Fires { get; init; }

    /// <summary>Why the query could not be evaluated on this event (the event does not match).</summary>
    [Id(6)] public string? Error { get; init; }

    /// <summary>Who or what the event is about, for display (principal, source IP, method or result).</summary>
    [Id(7)] public string? Summary { get; init; }
}

/// <summary>What a replay found.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.RuleTestResult")]
public sealed record RuleTestResult(
    [property: Id(0)] int Evaluated,
    [property: Id(1)] IReadOnlyList<RuleTestMatch> Matches,
    [property: Id(2)] RuleWindowState State)
{
    /// <summary>True when the stored events held more than one replay reads (<see cref="RuleLimits.MaxReplayEvents"/>): narrow -Start/-End.</summary>
    [Id(3)] public bool Truncated { get; init; }
}

/// <summary>The limits of custom rules (docs/rules.md, Limits).</summary>
public static class RuleLimits
{
    public const int MaxQueryLength = 2048;

    public const int MaxNameLength = 128;

    public const int MaxDescriptionLength = 1024;

    public const int MaxRulesPerRegion = 200;

    public const int MaxOccurrences = 10_000;

    public const int MaxReplayEvents = 100_000;

    public static readonly TimeSpan MinWindow = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxWindow = TimeSpan.FromHours(24);

    /// <summary>True for a well-formed rule name (already trimmed): 1 to <see cref="MaxNameLength"/> letters, digits, '-', '_' or '.'.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength } && name.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
