using AuditOrleans.Grains.Notifications;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Lifecycle;

/// <summary>
/// Taking and closing the firings of one project (key: project id), stored in the database with
/// the API key, the time and the comment of each step (docs/alerts.md, Acknowledgement).
/// </summary>
public sealed partial class AlertAcknowledgementGrain(
    LifecycleStore store,
    AlertHistoryReader history,
    TimeProvider time,
    ILogger<AlertAcknowledgementGrain> logger) : Grain, IAlertAcknowledgementGrain
{
    private string projectId = "";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        projectId = GrainKeys.Project(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public Task<FiredAlert?> TakeAsync(string firingId, string? comment) =>
        RecordAsync(firingId, FiringAction.Taken, LifecycleText.Optional(comment, SilenceLimits.MaxCommentLength, "comment"));

    public Task<FiredAlert?> CloseAsync(string firingId, string comment) =>
        RecordAsync(firingId, FiringAction.Closed, LifecycleText.Required(comment, SilenceLimits.MaxCommentLength, "comment"));

    private async Task<FiredAlert?> RecordAsync(string firingId, FiringAction action, string? comment)
    {
        var id = LifecycleText.Id(firingId, "firing");
        var key = ActingKey.Current();
        if (!await store.AcknowledgeAsync(projectId, id, action, key, comment, time.GetUtcNow()))
        {
            return null;
        }

        LogAcknowledged(logger, id, projectId, action, key);
        return await history.GetFiringAsync(id);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Firing {FiringId} of {ProjectId} {Action} by key {KeyId}")]
    private static partial void LogAcknowledged(ILogger logger, string firingId, string projectId, FiringAction action, string keyId);
}
