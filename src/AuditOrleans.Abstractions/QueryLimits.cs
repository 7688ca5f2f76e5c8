namespace AuditOrleans;

/// <summary>
/// The limits of reading, shared by the silo (which enforces them), the module and the console
/// (which page within them). See docs/events.md, Queries.
/// </summary>
public static class QueryLimits
{
    /// <summary>Most events in one page of <see cref="AuditQuery"/>; larger results are paged with the continuation token.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>Events in a page when the query does not say.</summary>
    public const int DefaultPageSize = 100;

    /// <summary>Most firings one <see cref="AlertHistoryQuery"/> returns.</summary>
    public const int MaxAlertHistory = 10_000;

    /// <summary>Firings returned when the query does not say.</summary>
    public const int DefaultAlertHistory = 100;

    /// <summary>Most checkpoints of one chain read at once.</summary>
    public const int MaxCheckpoints = 10_000;

    /// <summary>Most buckets one <see cref="ActivityQuery"/> returns.</summary>
    public const int MaxActivityBuckets = 2_000;

    /// <summary>Longest range of one <see cref="ActivityQuery"/>.</summary>
    public static readonly TimeSpan MaxActivitySpan = TimeSpan.FromDays(31);

    /// <summary>Most principals and source IPs one <see cref="ActivityQuery"/> returns.</summary>
    public const int MaxActivityTop = 50;

    /// <summary>Most project ids <see cref="IAuditLogGrain.ListProjectsAsync"/> returns.</summary>
    public const int MaxProjects = 1_000;
}
