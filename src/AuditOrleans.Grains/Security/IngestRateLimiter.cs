using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Per-key token buckets for event ingestion on this silo: each API key may send
/// <c>Security:IngestEventsPerSecond</c> events per second on average, and up to
/// <c>Security:IngestBurst</c> at once after a pause. A batch that does not fit is refused
/// whole, with the time to wait, so that a client can retry it unchanged.
/// </summary>
public sealed class IngestRateLimiter(IOptions<AuditOrleansOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Bucket> buckets = new(StringComparer.Ordinal);

    public int EventsPerSecond => options.Value.Security.IngestEventsPerSecond;

    public int Burst => options.Value.Security.IngestBurst;

    /// <summary>Takes <paramref name="events"/> tokens from the key's bucket or throws <see cref="RateLimitExceededException"/>.</summary>
    public void Acquire(string keyId, int events)
    {
        if (EventsPerSecond <= 0 || events <= 0)
        {
            return;
        }

        var bucket = buckets.GetOrAdd(keyId, static (_, s) => new Bucket(s.Burst, s.Now), (Burst, Now: time.GetUtcNow()));
        lock (bucket)
        {
            var now = time.GetUtcNow();
            var elapsed = Math.Max(0, (now - bucket.Updated).TotalSeconds);
            bucket.Tokens = Math.Min(Burst, bucket.Tokens + (elapsed * EventsPerSecond));
            bucket.Updated = now;
            if (events > Burst)
            {
                throw new RateLimitExceededException(
                    $"The batch holds {events} events, more than the {Burst} an API key may send at once (Security:IngestBurst): split it into smaller batches.",
                    TimeSpan.Zero);
            }

            if (bucket.Tokens < events)
            {
                var wait = TimeSpan.FromSeconds(Math.Ceiling((events - bucket.Tokens) / EventsPerSecond * 1000) / 1000);
                throw new RateLimitExceededException(
                    $"Rate limit exceeded: API key {keyId} may send {EventsPerSecond} events per second to a silo (bursts of {Burst}); " +
                    $"this batch of {events} would exceed it. Nothing of it was stored: retry in {wait.TotalSeconds:0.###} s, or send more slowly.",
                    wait);
            }

            bucket.Tokens -= events;
        }
    }

    private sealed class Bucket(double tokens, DateTimeOffset updated)
    {
        public double Tokens { get; set; } = tokens;

        public DateTimeOffset Updated { get; set; } = updated;
    }
}
