using System.Globalization;

namespace AuditOrleans.PowerShell;

/// <summary>
/// A silence or maintenance window of a project, as New-, Get- and Stop-AuditAlertSilence show
/// it: what it holds, when, why, who made and ended it, its state now and what it held.
/// </summary>
public sealed class AuditAlertSilence
{
    /// <summary>32 hex digits; give it to Stop-AuditAlertSilence or Get-AuditAlertHistory -SilenceId.</summary>
    public required string Id { get; init; }

    public required string ProjectId { get; init; }

    /// <summary>The region it holds; null for every region.</summary>
    public string? Region { get; init; }

    /// <summary>The alerts it holds, then the custom rules it holds by name (as given to -Name).</summary>
    public required string[] Name { get; init; }

    /// <summary>The custom rules it holds by name (CustomRule in <see cref="Name"/> holds every rule).</summary>
    public string[] Rules { get; init; } = [];

    /// <summary>Only this principal, when set.</summary>
    public string? PrincipalId { get; init; }

    /// <summary>Only this source IP, when set.</summary>
    public string? SourceIp { get; init; }

    /// <summary>Pending, Active, Waiting (weekly, between windows), Expired or Ended (ended early).</summary>
    public required SilenceState State { get; init; }

    public required DateTimeOffset Start { get; init; }

    /// <summary>When it ends; null for a weekly schedule without end.</summary>
    public DateTimeOffset? End { get; init; }

    /// <summary>The weekly schedule in words (days, local start time, duration, zone); null for a one-off silence.</summary>
    public string? Schedule { get; init; }

    public DayOfWeek[]? DaysOfWeek { get; init; }

    /// <summary>Local start time of each weekly window.</summary>
    public TimeSpan? At { get; init; }

    /// <summary>Length of each weekly window.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>The IANA time zone of the weekly schedule.</summary>
    public string? TimeZone { get; init; }

    /// <summary>When <see cref="State"/> changes next; null when it never does.</summary>
    public DateTimeOffset? NextChangeAt { get; init; }

    public required string Reason { get; init; }

    /// <summary>The API key that created it.</summary>
    public required string CreatedBy { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it was ended early (Stop-AuditAlertSilence).</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The API key that ended it early.</summary>
    public string? EndedBy { get; init; }

    public string? EndComment { get; init; }

    /// <summary>How many firings it held: each is in Get-AuditAlertHistory -SilenceId with status Silenced.</summary>
    public int HeldFirings { get; init; }

    public DateTimeOffset? LastHeldAt { get; init; }

    internal static AuditAlertSilence From(AlertSilence s) => new()
    {
        Id = s.Id,
        ProjectId = s.ProjectId,
        Region = s.Region,
        Name = [.. s.Alerts.Select(static a => a.ToString()).Concat(s.Rules)],
        Rules = [.. s.Rules],
        PrincipalId = s.PrincipalId,
        SourceIp = s.SourceIp,
        State = s.State,
        Start = s.StartsAt,
        End = s.EndsAt,
        Schedule = s.Weekly is { } w ? Describe(w) : null,
        DaysOfWeek = s.Weekly is { } days ? [.. days.Days.ToDays()] : null,
        At = s.Weekly?.StartTime,
        Duration = s.Weekly?.Duration,
        TimeZone = s.Weekly?.TimeZone,
        NextChangeAt = s.NextChangeAt,
        Reason = s.Reason,
        CreatedBy = s.CreatedBy,
        CreatedAt = s.CreatedAt,
        EndedAt = s.EndedAt,
        EndedBy = s.EndedBy,
        EndComment = s.EndComment,
        HeldFirings = s.HeldFirings,
        LastHeldAt = s.LastHeldAt,
    };

    /// <summary>A weekly window in words: <c>Sat,Sun 02:30 for 4h (Europe/Paris)</c>.</summary>
    internal static string Describe(WeeklyWindow w)
    {
        var days = string.Join(',', w.Days.ToDays().Select(static d => d.ToString()[..3]));
        var length = w.Duration.TotalHours >= 1 && w.Duration.Minutes == 0 && w.Duration.TotalHours == Math.Floor(w.Duration.TotalHours)
            ? $"{w.Duration.TotalHours.ToString(CultureInfo.InvariantCulture)}h"
            : $"{w.Duration.TotalMinutes.ToString(CultureInfo.InvariantCulture)}min";
        return $"{days} {w.StartTime:hh\\:mm} for {length} ({w.TimeZone})";
    }
}
