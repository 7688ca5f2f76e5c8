using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using AuditOrleans.Grains.Notifications;
using AuditOrleans.Grains.Security;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>Read side of the log: queries, verification and alert history, straight from the database.</summary>
[StatelessWorker]
public sealed class AuditLogGrain(
    AuditLogQueries queries,
    ChainVerifier chains,
    EventLookup lookup,
    ActivityQueries activity,
    AlertHistoryReader history,
    CheckpointSigner signer,
    IOptions<AuditOrleansOptions> options,
    TimeProvider time) : Grain, IAuditLogGrain
{
    public Task<AuditPage> QueryAsync(AuditQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        RequireProject(query.ProjectId);
        var region = query.Region is null ? null : RequireRegion(query.Region);
        if (query.RecordedAfter is { } after && query.RecordedBefore is { } before && after > before)
        {
            throw new ArgumentException(
                $"RecordedAfter ({AuditEventJson.FormatTime(after)}) is later than RecordedBefore ({AuditEventJson.FormatTime(before)}): swap them.");
        }

        if (query.StatusCode is { } status && status is < 100 or > 599)
        {
            throw new ArgumentException($"StatusCode {status} is not an HTTP status: use a value from 100 to 599.");
        }

        if (query.StatusClass is { } statusClass && statusClass is < 1 or > 5)
        {
            throw new ArgumentException($"StatusClass {statusClass} is not a status class: use 1 to 5 (1xx to 5xx).");
        }

        if (query.PageSize is < 1 or > QueryLimits.MaxPageSize)
        {
            throw new ArgumentException($"PageSize {query.PageSize} is out of range: use 1 to {QueryLimits.MaxPageSize} and page with the continuation token.");
        }

        return queries.QueryAsync(query with { Region = region }, time.GetUtcNow());
    }

    public Task<IntegrityReport> VerifyAsync(string projectId, string region)
    {
        RequireProject(projectId);
        return chains.VerifyAsync(projectId, RequireRegion(region), signer, options.Value.Retention.Days, time.GetUtcNow());
    }

    public Task<IntegrityReport> VerifyAgainstAsync(string projectId, string region, IReadOnlyList<ChainCheckpoint> trusted)
    {
        ArgumentNullException.ThrowIfNull(trusted);
        RequireProject(projectId);
        return chains.VerifyAsync(projectId, RequireRegion(region), signer, options.Value.Retention.Days, time.GetUtcNow(), trusted);
    }

    public Task<IReadOnlyList<ChainCheckpoint>> GetCheckpointsAsync(string projectId, string region, int limit)
    {
        RequireProject(projectId);
        return chains.GetCheckpointsAsync(projectId, RequireRegion(region), limit);
    }

    public Task<IReadOnlyList<FiredAlert>> GetAlertHistoryAsync(AlertHistoryQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        RequireProject(query.ProjectId);
        return history.GetHistoryAsync(query with { Region = query.Region is null ? null : RequireRegion(query.Region) });
    }

    public Task<AuditEventDetail?> GetEventAsync(string projectId, string region, long sequence)
    {
        RequireProject(projectId);
        if (sequence < 1)
        {
            throw new ArgumentException($"Sequence {sequence} is not a position in a chain: positions start at 1.");
        }

        return lookup.GetAsync(projectId, RequireRegion(region), sequence);
    }

    public Task<AuditEventDetail?> FindEventAsync(string projectId, string eventId)
    {
        RequireProject(projectId);
        if (string.IsNullOrEmpty(eventId) || eventId.Length > IngestLimits.MaxIdLength)
        {
            throw new ArgumentException($"An event id has 1 to {IngestLimits.MaxIdLength} characters.");
        }

        return lookup.FindAsync(projectId, eventId);
    }

    public Task<ActivitySummary> GetActivityAsync(ActivityQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        RequireProject(query.ProjectId);
        var region = query.Region is null ? null : RequireRegion(query.Region);
        if (query.To <= query.From || query.To - query.From > QueryLimits.MaxActivitySpan)
        {
            throw new ArgumentException(
                $"The range {AuditEventJson.FormatTime(query.From)} to {AuditEventJson.FormatTime(query.To)} is empty, reversed or longer than {QueryLimits.MaxActivitySpan.TotalDays} days.");
        }

        if (query.Bucket < TimeSpan.FromSeconds(1) || (query.To - query.From).Ticks / query.Bucket.Ticks >= QueryLimits.MaxActivityBuckets)
        {
            throw new ArgumentException($"A bucket is at least one second, and a range holds at most {QueryLimits.MaxActivityBuckets} of them: use wider buckets.");
        }

        if (query.Top is < 0 or > QueryLimits.MaxActivityTop)
        {
            throw new ArgumentException($"Top {query.Top} is out of range: use 0 to {QueryLimits.MaxActivityTop}.");
        }

        return activity.GetAsync(query with { Region = region });
    }

    public Task<IReadOnlyList<string>> ListProjectsAsync(int limit) =>
        activity.ListProjectsAsync(Math.Clamp(limit, 1, QueryLimits.MaxProjects));

    private static void RequireProject(string projectId) => GrainKeys.Project(projectId);

    private string RequireRegion(string region) =>
        Scope.NormalizeRegion(region, options.Value.Regions) ?? throw new ArgumentException(Scope.DescribeUnknownRegion(region, options.Value.Regions));
}
