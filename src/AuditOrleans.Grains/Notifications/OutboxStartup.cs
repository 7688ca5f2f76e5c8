using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Keeps the outbox awake from every silo. Once the silo is active it wakes the outbox when
/// deliveries are pending, so that what was due when a silo stopped (or crashed) is delivered
/// after the restart without waiting for a new firing. Then it looks every
/// <see cref="WatchInterval"/> for deliveries that are overdue: in a cluster the outbox's
/// activation (and its retry timer) dies with its silo, and a detector's wake-up can be lost
/// while the dead silo is not yet declared dead; this look brings the outbox back on a live
/// silo. Runs in the background: a slow database never delays the silo's start.
/// </summary>
public sealed partial class OutboxStartup(NotificationStore store, IGrainFactory grains, TimeProvider time, ILogger<OutboxStartup> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>How often each silo looks for overdue deliveries.</summary>
    public static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(15);

    private readonly CancellationTokenSource stopping = new();
    private Task? watch;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(
            nameof(OutboxStartup),
            ServiceLifecycleStage.Active,
            _ =>
            {
                watch = Task.Run(() => WatchAsync(stopping.Token));
                return Task.CompletedTask;
            },
            async _ =>
            {
                await stopping.CancelAsync();
                if (watch is { } running)
                {
                    await running;
                }
            });

    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        var starting = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (await store.GetNextDueAsync(cancellationToken) is { } next && (starting || next <= time.GetUtcNow()))
                {
                    if (starting)
                    {
                        LogPending(logger, next);
                    }
                    else
                    {
                        LogOverdue(logger, next);
                    }

                    await grains.GetGrain<INotificationGrain>(0).WakeAsync().WaitAsync(cancellationToken);
                }

                starting = false;
                await Task.Delay(WatchInterval, time, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogWakeFailed(logger, ex);
                try
                {
                    await Task.Delay(WatchInterval, time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Notification deliveries are pending (next due {NextDue:o}): waking the outbox")]
    private static partial void LogPending(ILogger logger, DateTimeOffset nextDue);

    [LoggerMessage(Level = LogLevel.Information, Message = "Notification deliveries are overdue (since {NextDue:o}): waking the outbox")]
    private static partial void LogOverdue(ILogger logger, DateTimeOffset nextDue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not wake the notification outbox; this silo tries again shortly")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception);
}
