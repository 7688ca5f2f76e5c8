using System.Diagnostics;
using AuditOrleans.Grains.Detection;
using AuditOrleans.Grains.Storage;

namespace AuditOrleans.Bench;

/// <summary>
/// The HttpForbiddenErrorRateHigh check per 403 event: the engine's window used exactly as
/// DetectorGrain uses it, against a plain Queue-based sliding window of the same rule written
/// here. Both read the same events and must decide the same firings.
/// </summary>
public sealed class DetectorBench(Settings settings, TextWriter log)
{
    /// <summary>Events per AppendAsync call in the grain (its rollback snapshot is taken once per call).</summary>
    private const int BatchSize = 100;

    // A pass is one detector's stream; small enough to stay in cache, as the events of a batch
    // just deserialised by the grain are.
    private const int EventsPerPass = 4_000;

    private static readonly long WindowMicros = (long)AlertCatalog.ForbiddenWindow.TotalMicroseconds;

    public void Run(Report report)
    {
        var events = Stream(new Random(11), EventsPerPass);
        var passes = Math.Max(1, settings.DetectorEvents / EventsPerPass);

        // Warm-up: tiered JIT reaches its optimised code for both loops.
        for (var i = 0; i < 3; i++)
        {
            Engine(events);
            Baseline(events);
        }

        var engineNs = new List<double>();
        var baselineNs = new List<double>();
        for (var round = 0; round < settings.DetectorRounds; round++)
        {
            long engineFires = 0, baselineFires = 0;
            double engineRound = 0, baselineRound = 0;
            void RunEngine()
            {
                var stopwatch = Stopwatch.StartNew();
                for (var p = 0; p < passes; p++)
                {
                    engineFires += Engine(events);
                }

                engineRound = stopwatch.Elapsed.TotalNanoseconds / (passes * (double)events.Length);
            }

            void RunBaseline()
            {
                var stopwatch = Stopwatch.StartNew();
                for (var p = 0; p < passes; p++)
                {
                    baselineFires += Baseline(events);
                }

                baselineRound = stopwatch.Elapsed.TotalNanoseconds / (passes * (double)events.Length);
            }

            // Alternate the order so that neither always runs second.
            if (round % 2 == 0)
            {
                RunEngine();
                RunBaseline();
            }
            else
            {
                RunBaseline();
                RunEngine();
            }

            engineNs.Add(engineRound);
            baselineNs.Add(baselineRound);
            if (engineFires != baselineFires || engineFires == 0)
            {
                throw new InvalidOperationException($"The two windows disagree: the engine's fired {engineFires} times, the baseline {baselineFires} times.");
            }
        }

        log.WriteLine($"  detector: engine {string.Join(", ", engineNs.Select(static n => n.ToString("0.0")))} ns; baseline {string.Join(", ", baselineNs.Select(static n => n.ToString("0.0")))} ns");
        var engine = Stats.Median(engineNs);
        var baseline = Stats.Median(baselineNs);
        report.Add(new Figure("detector.ns_per_event", "detector: 403 window check per event", engine, "ns")
        {
            BaselineKey = "detector.baseline_ns_per_event",
            Baseline = baseline,
            BaselineLabel = "Queue<long> window",
            RatioKey = "detector.ratio",
            Ratio = engine / baseline,
            Samples = engineNs,
            BaselineSamples = baselineNs,
        });
        report.Note("detector",
            $"median of {settings.DetectorRounds} rounds over {passes * events.Length:N0} 403 events (bursts above and below 20 per 5 min, " +
            $"{EpisodeCount(events)} episodes per {events.Length}-event pass, a fresh window per pass). Both read status and recorded_at of each event, convert to microseconds and decide the " +
            $"firing; the engine's ForbiddenRateWindow also takes the grain's rollback snapshot once per {BatchSize}-event call and keeps 21 timestamps " +
            "(the Queue keeps every 403 of the last 5 minutes). Neither includes the grain call or storage (see ingest).");
    }

    /// <summary>What DetectorGrain does for each event of its batches, without the storage around it.</summary>
    private static long Engine(AuditEvent[] events)
    {
        var window = new ForbiddenRateWindow();
        long fires = 0;
        for (var start = 0; start < events.Length; start += BatchSize)
        {
            var saved = window.Save();
            var end = Math.Min(events.Length, start + BatchSize);
            for (var i = start; i < end; i++)
            {
                var e = events[i];
                if (e.StatusCode == 403 && window.Add(DbTime.ToMicros(e.RecordedAt!.Value), active: true))
                {
                    fires++;
                }
            }

            GC.KeepAlive(saved);
        }

        return fires;
    }

    /// <summary>The rule as one would write it plainly: every 403 of the last 5 minutes in a queue.</summary>
    private static long Baseline(AuditEvent[] events)
    {
        var queue = new Queue<long>();
        var alerted = false;
        long fires = 0;
        foreach (var e in events)
        {
            if (e.StatusCode != 403)
            {
                continue;
            }

            var t = DbTime.ToMicros(e.RecordedAt!.Value);
            queue.Enqueue(t);
            var oldest = t - WindowMicros;
            while (queue.Peek() < oldest)
            {
                queue.Dequeue();
            }

            if (queue.Count > AlertCatalog.ForbiddenThreshold)
            {
                if (!alerted)
                {
                    alerted = true;
                    fires++;
                }
            }
            else
            {
                alerted = false;
            }
        }

        return fires;
    }

    /// <summary>403 events in time order: attack bursts (a 403 every ~5 s) alternating with calm (every ~40 s).</summary>
    private static AuditEvent[] Stream(Random random, int count)
    {
        var events = new AuditEvent[count];
        var at = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < count; i++)
        {
            var burst = i / 250 % 2 == 0;
            var meanSeconds = burst ? 5.0 : 40.0;
            at = at.AddMicroseconds(Math.Max(1, -Math.Log(1 - random.NextDouble()) * meanSeconds * 1_000_000));
            events[i] = new AuditEvent
            {
                Id = $"e{i}",
                RecordedAt = at,
                ProjectId = "bench",
                Region = "fr-par",
                StatusCode = 403,
            };
        }

        return events;
    }

    private static long EpisodeCount(AuditEvent[] events) => Baseline(events);
}
