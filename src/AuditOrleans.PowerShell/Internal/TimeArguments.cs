namespace AuditOrleans.PowerShell.Internal;

/// <summary>
/// The time parameters of the cmdlets (-Start, -End, -After, -RecordedAfter, -RecordedBefore)
/// as the instants the cluster takes: local times are converted to UTC, times without a zone are
/// taken as UTC (docs/events.md, Reading the log).
/// </summary>
internal static class TimeArguments
{
    /// <summary>A PowerShell time as UTC, or null when the parameter was not given.</summary>
    internal static DateTimeOffset? ToUtc(DateTime? time) => time is { } t ? ToUtc(t) : null;

    /// <summary>A PowerShell time as UTC: local times are converted, times without a zone are taken as UTC.</summary>
    internal static DateTimeOffset ToUtc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Local => new DateTimeOffset(time.ToUniversalTime(), TimeSpan.Zero),
        _ => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc), TimeSpan.Zero),
    };
}
