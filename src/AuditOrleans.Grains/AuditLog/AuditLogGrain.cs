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
    NotificationStore notifications,
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
        return notifications.GetHistoryAsync(query with { Region = query.Region is null ? null : RequireRegion(query.Region) });
    }

    private static void RequireProject(string projectId)
    {
        if (!Scope.IsValidProjectId(projectId))
        {
            throw new ArgumentException(Scope.DescribeProjectIdRule(projectId));
        }
    }

    private string RequireRegion(string region) =>
        Scope.NormalizeRegion(region, options.Value.Regions) ?? throw new ArgumentException(Scope.DescribeUnknownRegion(region, options.Value.Regions));
}
