using System.Security.Cryptography;
using System.Text;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using AuditOrleans.Grains.Security;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// Background upkeep of the log: publishes signed checkpoints of every chain head that moved,
/// and purges events older than <c>Retention:Days</c> (recording where each chain was cut).
/// Both are idempotent, so several silos running them at once do no harm.
/// </summary>
public sealed partial class LogMaintenanceService(
    ChainVerifier chains,
    LogRetention retention,
    CheckpointSigner signer,
    IOptions<AuditOrleansOptions> options,
    TimeProvider time,
    ILogger<LogMaintenanceService> logger) : BackgroundService
{
    public static readonly TimeSpan CheckpointInterval = TimeSpan.FromMinutes(1);

    /// <summary>Runs one round: checkpoints, then retention. Public for tests and the console.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var checkpoints = await chains.WriteCheckpointsAsync(signer.Sign, now, cancellationToken);
        if (checkpoints.Count > 0)
        {
            Publish(checkpoints);
            LogCheckpoints(logger, checkpoints.Count);
        }

        var days = options.Value.Retention.Days;
        if (days > 0)
        {
            var purged = await retention.PurgeAsync(days, now, signer, cancellationToken);
            if (purged > 0)
            {
                LogPurged(logger, purged, days);
            }
        }
    }

    /// <summary>
    /// Appends checkpoints as JSON lines to <c>{DataDirectory}/checkpoints.jsonl</c>: a copy
    /// outside the database, for shipping to write-once storage or a log collector.
    /// </summary>
    private void Publish(IReadOnlyList<ChainCheckpoint> checkpoints)
    {
        var path = Path.Combine(options.Value.DataDirectory, "checkpoints.jsonl");
        PrivateFiles.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var lines = checkpoints.Select(static c => System.Text.Json.JsonSerializer.Serialize(new
        {
            project_id = c.ProjectId,
            region = c.Region,
            seq = c.Sequence,
            hash = c.Hash,
            created_at = AuditEventJson.FormatTime(c.CreatedAt),
            signature = c.Signature,
        }));
        using var stream = PrivateFiles.OpenAppend(path);
        using var writer = new StreamWriter(stream);
        foreach (var line in lines)
        {
            writer.WriteLine(line);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = CheckpointInterval < options.Value.Retention.PurgeInterval ? CheckpointInterval : options.Value.Retention.PurgeInterval;
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Published {Count} chain checkpoints")]
    private static partial void LogCheckpoints(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention purged {Count} events older than {Days} days")]
    private static partial void LogPurged(ILogger logger, int count, int days);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log maintenance failed; it runs again at the next interval")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
