using System.Security.Cryptography;
using System.Text;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains;

/// <summary>
/// Background upkeep of the log: publishes signed checkpoints of every chain head that moved,
/// and purges events older than <c>Retention:Days</c> (recording where each chain was cut).
/// Both are idempotent, so several silos running them at once do no harm.
/// </summary>
public sealed partial class LogMaintenanceService(
    AuditLogStore log,
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
        var checkpoints = await log.WriteCheckpointsAsync(signer.Sign, now, cancellationToken);
        if (checkpoints.Count > 0)
        {
            Publish(checkpoints);
            LogCheckpoints(logger, checkpoints.Count);
        }

        var days = options.Value.Retention.Days;
        if (days > 0)
        {
            var purged = await log.PurgeAsync(days, now, signer, cancellationToken);
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

/// <summary>
/// Signs checkpoints with HMAC-SHA256, and retention anchors with HMAC-SHA256 under a key
/// derived from the same key. The key is <c>CheckpointKey</c> when set (clusters: the same on
/// every silo), else <c>{DataDirectory}/checkpoint.key</c> (created at first use, mode 0600);
/// either way it is kept outside the database so that whoever can rewrite the database can
/// neither re-sign a rewritten chain nor make deleted events look purged by retention.
/// </summary>
public sealed class CheckpointSigner(IOptions<AuditOrleansOptions> options)
{
    private readonly Lazy<byte[]> key = new(() => options.Value.CheckpointKey is { Length: > 0 } configured
        ? Convert.FromHexString(configured.Trim())
        : LoadOrCreateKey(Path.Combine(options.Value.DataDirectory, "checkpoint.key")));

    private byte[]? anchorKey;

    public string Sign(string text) => Convert.ToHexStringLower(HMACSHA256.HashData(key.Value, Encoding.UTF8.GetBytes(text)));

    public bool Verify(string text, string signature) => SameSignature(Sign(text), signature);

    /// <summary>Signs a retention anchor's text (<see cref="AuditLogStore.AnchorText"/>).</summary>
    public string SignAnchor(string text) => Convert.ToHexStringLower(HMACSHA256.HashData(AnchorKey, Encoding.UTF8.GetBytes(text)));

    public bool VerifyAnchor(string text, string signature) => SameSignature(SignAnchor(text), signature);

    private byte[] AnchorKey => anchorKey ??= DeriveKey("AuditOrleans retention anchor v1");

    private static bool SameSignature(string expected, string actual) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(actual));

    /// <summary>
    /// A key for another purpose derived from the installation's checkpoint key (HKDF-SHA256),
    /// e.g. to encrypt the console's key ring at rest: like the checkpoint key, it never lives in
    /// the database, and every silo of a cluster derives the same one.
    /// </summary>
    public byte[] DeriveKey(string purpose, int length = 32) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Value, length, salt: null, info: Encoding.UTF8.GetBytes(purpose));

    private static byte[] LoadOrCreateKey(string path)
    {
        if (File.Exists(path))
        {
            return Convert.FromHexString(File.ReadAllText(path).Trim());
        }

        PrivateFiles.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var bytes = RandomNumberGenerator.GetBytes(32);
        SecretFile.Write(path, Convert.ToHexStringLower(bytes));
        return bytes;
    }
}

/// <summary>Writes a file only its owner may read (0600 on Unix).</summary>
public static class SecretFile
{
    public static void Write(string path, string content)
    {
        using (var stream = new FileStream(path, PrivateFiles.StreamOptions(FileMode.CreateNew, FileAccess.Write)))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        PrivateFiles.Tighten(path);
    }
}
