namespace AuditOrleans;

/// <summary>
/// A weekly maintenance window: every <see cref="Days"/> from <see cref="StartTime"/> (wall-clock
/// time in <see cref="TimeZone"/>) for <see cref="Duration"/> of wall-clock time. Daylight-saving
/// changes follow the zone (docs/alerts.md, Silences).
/// </summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.WeeklyWindow")]
public sealed record WeeklyWindow
{
    /// <summary>The days the window starts on.</summary>
    [Id(0)] public required WeekDays Days { get; init; }

    /// <summary>Local start time, 00:00 to 23:59.</summary>
    [Id(1)] public required TimeSpan StartTime { get; init; }

    /// <summary>Length of each window, more than 0 and at most 7 days.</summary>
    [Id(2)] public required TimeSpan Duration { get; init; }

    /// <summary>An IANA time zone id, for example Europe/Paris (or UTC).</summary>
    [Id(3)] public required string TimeZone { get; init; }
}

/// <summary>Days of the week, combinable.</summary>
[Flags]
public enum WeekDays
{
    None = 0,
    Sunday = 1,
    Monday = 2,
    Tuesday = 4,
    Wednesday = 8,
    Thursday = 16,
    Friday = 32,
    Saturday = 64,
}

/// <summary>Conversions between <see cref="DayOfWeek"/> and <see cref="WeekDays"/>.</summary>
public static class WeekDaysExtensions
{
    public static WeekDays ToWeekDays(this DayOfWeek day) => (WeekDays)(1 << (int)day);

    public static WeekDays ToWeekDays(this IEnumerable<DayOfWeek> days) => days.Aggregate(WeekDays.None, static (all, d) => all | d.ToWeekDays());

    public static bool Contains(this WeekDays days, DayOfWeek day) => (days & day.ToWeekDays()) != 0;

    /// <summary>The days, Monday first.</summary>
    public static IReadOnlyList<DayOfWeek> ToDays(this WeekDays days) =>
        [.. new[] { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday, DayOfWeek.Saturday, DayOfWeek.Sunday }.Where(d => days.Contains(d))];
}

/// <summary>What New-AuditAlertSilence asks for.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AlertSilenceRequest")]
public sealed record AlertSilenceRequest
{
    /// <summary>The alerts it holds (at least one alert or one rule); <c>CustomRule</c> holds every custom rule.</summary>
    [Id(0)] public required IReadOnlyList<AlertName> Alerts { get; init; }

    /// <summary>Only this region; null for every region of the project.</summary>
    [Id(1)] public string? Region { get; init; }

    /// <summary>Only firings of this principal (exact).</summary>
    [Id(2)] public string? PrincipalId { get; init; }

    /// <summary>Only firings from this source IP.</summary>
    [Id(3)] public string? SourceIp { get; init; }

    /// <summary>When it starts; null: now.</summary>
    [Id(4)] public DateTimeOffset? StartsAt { get; init; }

    /// <summary>When it ends; required unless <see cref="Weekly"/> is set (then optional: the schedule repeats until this time).</summary>
    [Id(5)] public DateTimeOffset? EndsAt { get; init; }

    /// <summary>A weekly schedule: the silence holds only inside its windows.</summary>
    [Id(6)] public WeeklyWindow? Weekly { get; init; }

    /// <summary>Why (required, at most <see cref="SilenceLimits.MaxReasonLength"/> characters).</summary>
    [Id(7)] public required string Reason { get; init; }

    /// <summary>
    /// Instead of <see cref="EndsAt"/>, for a silence without schedule: how long it lasts from its
    /// start (the silo computes the end with its own clock).
    /// </summary>
    [Id(8)] public TimeSpan? Duration { get; init; }

    /// <summary>Custom rules it holds by name (case-insensitive), in addition to <see cref="Alerts"/>.</summary>
    [Id(9)] public IReadOnlyList<string> Rules { get; init; } = [];
}

/// <summary>Where a silence stands at the time it is read.</summary>
public enum SilenceState
{
    /// <summary>Its start is still to come.</summary>
    Pending = 1,

    /// <summary>It holds matching firings now.</summary>
    Active = 2,

    /// <summary>A weekly silence between two of its windows.</summary>
    Waiting = 3,

    /// <summary>It ran to its end time.</summary>
    Expired = 4,

    /// <summary>Someone ended it early (Stop-AuditAlertSilence).</summary>
    Ended = 5,
}

/// <summary>A silence or maintenance window of a project, as stored and read.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AlertSilence")]
public sealed record AlertSilence
{
    /// <summary>32 hex digits.</summary>
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string ProjectId { get; init; }

    /// <summary>Null: every region.</summary>
    [Id(2)] public string? Region { get; init; }

    [Id(3)] public required IReadOnlyList<AlertName> Alerts { get; init; }

    [Id(4)] public string? PrincipalId { get; init; }

    [Id(5)] public string? SourceIp { get; init; }

    [Id(6)] public required DateTimeOffset StartsAt { get; init; }

    [Id(7)] public DateTimeOffset? EndsAt { get; init; }

    [Id(8)] public WeeklyWindow? Weekly { get; init; }

    [Id(9)] public required string Reason { get; init; }

    /// <summary>The API key that created it.</summary>
    [Id(10)] public required string CreatedBy { get; init; }

    [Id(11)] public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When someone ended it early; null otherwise.</summary>
    [Id(12)] public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The API key that ended it early.</summary>
    [Id(13)] public string? EndedBy { get; init; }

    [Id(14)] public string? EndComment { get; init; }

    /// <summary>Its state when it was read.</summary>
    [Id(15)] public SilenceState State { get; init; }

    /// <summary>When <see cref="State"/> changes next (a start, a window's start or end, the end); null when it never does.</summary>
    [Id(16)] public DateTimeOffset? NextChangeAt { get; init; }

    /// <summary>How many firings it held so far (each is in the alert history with this silence's id).</summary>
    [Id(17)] public int HeldFirings { get; init; }

    /// <summary>When it last held a firing.</summary>
    [Id(18)] public DateTimeOffset? LastHeldAt { get; init; }

    /// <summary>Custom rules it holds by name (case-insensitive), in addition to <see cref="Alerts"/>.</summary>
    [Id(19)] public IReadOnlyList<string> Rules { get; init; } = [];
}

/// <summary>The limits of silences, shared by the silo, the module and the console.</summary>
public static class SilenceLimits
{
    public const int MaxReasonLength = 500;

    public const int MaxCommentLength = 1000;

    /// <summary>Silences of one project not yet expired or ended.</summary>
    public const int MaxInForce = 200;

    /// <summary>Most silences one list returns (newest first).</summary>
    public const int MaxListed = 1000;

    /// <summary>Most rule names one silence may hold.</summary>
    public const int MaxRules = 50;
}

/// <summary>Silences and maintenance windows of one project (key: project id). Stored in the database.</summary>
[Alias("AuditOrleans.IAlertSilenceGrain")]
public interface IAlertSilenceGrain : IGrainWithStringKey
{
    /// <summary>Creates a silence, recording the API key that asked; returns it as stored.</summary>
    [Alias("CreateAsync")]
    Task<AlertSilence> CreateAsync(AlertSilenceRequest request);

    /// <summary>
    /// The project's silences, newest first: those in force (pending, active, waiting) and those
    /// that ended or expired within the last 7 days, or all of them with <paramref name="includeEnded"/>.
    /// </summary>
    [Alias("ListAsync")]
    Task<IReadOnlyList<AlertSilence>> ListAsync(bool includeEnded);

    /// <summary>
    /// Ends a silence now, recording who and why; null when the project has no silence with that
    /// id. A silence that already ended or expired is left as it is: <see cref="InvalidOperationException"/> saying so.
    /// </summary>
    [Alias("EndAsync")]
    Task<AlertSilence?> EndAsync(string silenceId, string? comment);
}

/// <summary>Taking and closing the firings of one project (key: project id). Stored in the database.</summary>
[Alias("AuditOrleans.IAlertAcknowledgementGrain")]
public interface IAlertAcknowledgementGrain : IGrainWithStringKey
{
    /// <summary>Takes a firing (someone is on it), recording the API key, the time and the comment; null when the project has no such firing.</summary>
    [Alias("TakeAsync")]
    Task<FiredAlert?> TakeAsync(string firingId, string? comment);

    /// <summary>Closes a firing with a comment, recording the API key and the time; null when the project has no such firing.</summary>
    [Alias("CloseAsync")]
    Task<FiredAlert?> CloseAsync(string firingId, string comment);
}
