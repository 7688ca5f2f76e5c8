using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Logs refusals (denied calls, closed gateway connections, throttled key checks) as one line
/// each, at most <see cref="LinesPerMinute"/> a minute per silo at Information; the next line that
/// gets through says how many were left out, and those left out are written at Debug (off unless
/// asked for). Abuse must not cost the operator a flood of log.
/// </summary>
public sealed partial class RefusalLog(TimeProvider time)
{
    public const int LinesPerMinute = 20;

    private readonly object gate = new();
    private DateTimeOffset windowStart = DateTimeOffset.MinValue;
    private int written;
    private int suppressed;
    private readonly Queue<string> recent = new();

    /// <summary>How many refusals are kept in <see cref="Recent"/>.</summary>
    public const int RecentCapacity = 200;

    /// <summary>The latest refusals (kind and detail), newest last, whether or not their log line was written: for diagnostics and tests.</summary>
    public IReadOnlyList<string> Recent
    {
        get
        {
            lock (gate)
            {
                return [.. recent];
            }
        }
    }

    public void Refused(ILogger logger, string what, string detail)
    {
        int left;
        lock (gate)
        {
            if (recent.Count == RecentCapacity)
            {
                recent.Dequeue();
            }

            recent.Enqueue($"{what}: {detail}");
            var now = time.GetUtcNow();
            if (now - windowStart >= TimeSpan.FromMinutes(1))
            {
                windowStart = now;
                written = 0;
            }

            if (written >= LinesPerMinute)
            {
                suppressed++;
                left = -1;
            }
            else
            {
                written++;
                left = suppressed;
                suppressed = 0;
            }
        }

        if (left < 0)
        {
            LogRefusedQuietly(logger, what, detail);
            return;
        }

        if (left > 0)
        {
            LogRefusedAfterSuppressed(logger, what, detail, left);
        }
        else
        {
            LogRefused(logger, what, detail);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused ({What}): {Detail}")]
    private static partial void LogRefused(ILogger logger, string what, string detail);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Refused ({What}): {Detail}")]
    private static partial void LogRefusedQuietly(ILogger logger, string what, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused ({What}): {Detail} ({Suppressed} earlier refusals not logged: at most 20 lines a minute)")]
    private static partial void LogRefusedAfterSuppressed(ILogger logger, string what, string detail, int suppressed);
}
