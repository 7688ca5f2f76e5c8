using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Limits guessing: failed API-key checks are counted per source (the client's address, or the
/// console's remote address) and per key id. Past <see cref="SourceLimit"/> failures in
/// <see cref="Window"/>, every key presented from that source is refused at once without
/// checking it (<c>Security:FailedKeyChecksPerSource</c>); past <see cref="KeyLimit"/> failures for one key id
/// (<c>Security:FailedKeyChecksPerKey</c>), that key is refused from
/// any source that has itself failed recently, so an attacker cannot lock the key's holder out
/// from elsewhere. A refusal costs a dictionary lookup, not a PBKDF2 derivation. Counts are per
/// silo and decay over the window. See docs/security.md.
/// </summary>
public sealed class FailedAuthThrottle(TimeProvider time, IOptions<AuditOrleansOptions> options)
{
    public const int MaxTracked = 50_000;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private int SourceLimit => options.Value.Security.FailedKeyChecksPerSource;

    private int KeyLimit => options.Value.Security.FailedKeyChecksPerKey;

    private readonly ConcurrentDictionary<string, Counter> sources = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Counter> keys = new(StringComparer.Ordinal);

    /// <summary>When a check from <paramref name="source"/> for <paramref name="keyId"/> must be refused unchecked, how long until it may be tried again; null otherwise.</summary>
    public TimeSpan? RetryAfter(string source, string? keyId)
    {
        var now = time.GetUtcNow();
        if (sources.TryGetValue(source, out var fromSource))
        {
            var (count, until) = fromSource.Read(now);
            if (count >= SourceLimit)
            {
                return until - now;
            }

            if (count > 0 && keyId is not null && keys.TryGetValue(keyId, out var forKey))
            {
                var (keyCount, keyUntil) = forKey.Read(now);
                if (keyCount >= KeyLimit)
                {
                    return keyUntil - now;
                }
            }
        }

        return null;
    }

    /// <summary>Counts one failed check.</summary>
    public void Failed(string source, string? keyId)
    {
        var now = time.GetUtcNow();
        Count(sources, source, now);
        if (keyId is not null)
        {
            Count(keys, keyId, now);
        }
    }

    private static void Count(ConcurrentDictionary<string, Counter> counters, string name, DateTimeOffset now)
    {
        if (counters.Count >= MaxTracked)
        {
            foreach (var (key, counter) in counters)
            {
                if (counter.Read(now).Count == 0)
                {
                    counters.TryRemove(key, out _);
                }
            }
        }

        counters.GetOrAdd(name, static _ => new Counter()).Add(now);
    }

    /// <summary>Failures in a window that restarts when it has passed with no failure.</summary>
    private sealed class Counter
    {
        private int count;
        private DateTimeOffset windowEnd;

        public (int Count, DateTimeOffset Until) Read(DateTimeOffset now)
        {
            lock (this)
            {
                return now >= windowEnd ? (0, now) : (count, windowEnd);
            }
        }

        public void Add(DateTimeOffset now)
        {
            lock (this)
            {
                if (now >= windowEnd)
                {
                    count = 0;
                }

                count++;
                windowEnd = now + Window;
            }
        }
    }
}
