using AuditOrleans.Grains.AuditLog;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// Keeps open HttpForbiddenErrorRateHigh episodes looked at from every silo (docs/alerts.md,
/// Episodes). A detector looks at its open episode with a timer, but the timer dies with the
/// activation: after a restart, or when the silo holding it dies, nothing would activate the
/// detector again until its project-region's next event, and an attack that stopped would
/// never be resolved. Once the silo is active, and then every <see cref="WatchInterval"/>, this
/// asks the detector of every open episode to look at it (which activates it, on a live silo).
/// </summary>
public sealed partial class EpisodeWatch(AuditLogWriter log, IGrainFactory grains, TimeProvider time, ILogger<EpisodeWatch> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>How often each silo looks for open episodes.</summary>
    public static readonly TimeSpan WatchInterval = TimeSpan.FromMinutes(1);

    private readonly CancellationTokenSource stopping = new();
    private Task? watch;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(
            nameof(EpisodeWatch),
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
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                foreach (var (projectId, region) in await log.GetOpenEpisodesAsync(cancellationToken))
                {
                    try
                    {
                        await grains.GetGrain<IDetectorGrain>(Scope.Key(projectId, region)).CheckEpisodeAsync().WaitAsync(cancellationToken);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        LogCheckFailed(logger, projectId, region, ex);
                    }
                }

                await Task.Delay(WatchInterval, time, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogWatchFailed(logger, ex);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look at the open alert episode of {ProjectId}/{Region}; this silo tries again shortly")]
    private static partial void LogCheckFailed(ILogger logger, string projectId, string region, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the open alert episodes; this silo tries again shortly")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception);
}
