using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Wakes the outbox once the silo is active when deliveries are pending, so that what was due
/// when a silo stopped (or crashed) is delivered after the restart without waiting for a new
/// firing. Runs in the background: a slow database never delays the silo's start.
/// </summary>
public sealed partial class OutboxStartup(NotificationStore store, IGrainFactory grains, ILogger<OutboxStartup> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource stopping = new();
    private Task? wake;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(
            nameof(OutboxStartup),
            ServiceLifecycleStage.Active,
            _ =>
            {
                wake = Task.Run(() => WakeIfPendingAsync(stopping.Token));
                return Task.CompletedTask;
            },
            async _ =>
            {
                await stopping.CancelAsync();
                if (wake is { } running)
                {
                    await running;
                }
            });

    private async Task WakeIfPendingAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await store.GetNextDueAsync(cancellationToken) is { } next)
            {
                LogPending(logger, next);
                await grains.GetGrain<INotificationGrain>(0).WakeAsync().WaitAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogWakeFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Notification deliveries are pending (next due {NextDue:o}): waking the outbox")]
    private static partial void LogPending(ILogger logger, DateTimeOffset nextDue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not wake the notification outbox at start; it wakes at the next firing")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception);
}
