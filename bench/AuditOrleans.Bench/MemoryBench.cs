using System.Diagnostics;
using Orleans.Runtime;

namespace AuditOrleans.Bench;

/// <summary>
/// Managed memory per active project-region detector with a full 403 window: N project-regions
/// receive 21 403s each through the client (so each has its DetectorGrain active, which holds
/// the active alerts itself: ingestion does not activate the AlertConfigGrain), and the live
/// managed heap is compared before and after. The same is done for N empty grains (what an
/// Orleans activation costs by itself) and for N alert configuration grains alone (what a
/// project-region cost on top when the detector read its configuration from that grain).
/// </summary>
public sealed class MemoryBench(BenchHost host, Settings settings, TextWriter log)
{
    private const int Concurrency = 4;
    private const int ProjectRegionsPerBatch = 100;
    private static readonly string[] Regions = ["fr-par", "nl-ams", "pl-waw"];

    public async Task RunAsync(Report report, CancellationToken cancellationToken)
    {
        var n = settings.Detectors;

        // Warm-up: every code path and pool used below, so that the measured delta holds only the activations.
        var warm = Math.Min(300, n);
        await ActivateDetectorsAsync("mwarm", warm, cancellationToken);
        await PingEmptyAsync("warm", warm, cancellationToken);
        await ReadConfigsAsync("cwarm", warm, cancellationToken);

        var (_, configsBefore) = await CountActivationsAsync();
        var before = Settle();
        var stopwatch = Stopwatch.StartNew();
        var run = await ActivateDetectorsAsync("mem", n, cancellationToken);
        var activateSeconds = stopwatch.Elapsed.TotalSeconds;
        var after = Settle();
        var keys = Keys("mem", run, n); // made again here: the bench's own list of keys must not count as detector memory

        // Checked after the measurement: the client's calls add entries to its own caches.
        var (detectors, configs) = await CountActivationsAsync();
        var full = await CountFullWindowsAsync(keys, cancellationToken);
        if (full != n)
        {
            throw new InvalidOperationException($"Only {full} of {n} detectors hold a full window of 21 403s.");
        }

        if (configs != configsBefore)
        {
            throw new InvalidOperationException($"Ingestion activated {configs - configsBefore} AlertConfigGrains: the detector must hold its configuration.");
        }

        if (detectors < n)
        {
            throw new InvalidOperationException($"Only {detectors} of {n} detector activations are alive: some were collected during the measurement.");
        }

        var perDetector = (after.Live - before.Live) / (double)n;
        log.WriteLine($"  memory: {n:N0} detectors activated and filled in {activateSeconds:0.0} s; live heap {before.Live / 1e6:0.0} -> {after.Live / 1e6:0.0} MB");

        var emptyBefore = Settle();
        await PingEmptyAsync("empty", n, cancellationToken);
        var emptyAfter = Settle();
        var perEmpty = (emptyAfter.Live - emptyBefore.Live) / (double)n;

        var configBefore = Settle();
        await ReadConfigsAsync("cfg", n, cancellationToken);
        var configAfter = Settle();
        var perConfig = (configAfter.Live - configBefore.Live) / (double)n;
        log.WriteLine($"  memory: per detector {perDetector:N0} B, per empty activation {perEmpty:N0} B, per alert-config grain alone {perConfig:N0} B");

        report.Add(new Figure("memory.bytes_per_detector", "memory: managed bytes per active project-region detector (full window)", perDetector, "B")
        {
            BaselineKey = "memory.baseline_bytes_per_empty_activation",
            Baseline = perEmpty,
            BaselineLabel = "empty grain activation",
            RatioKey = "memory.ratio",
            Ratio = perDetector / perEmpty,
            Target = "ratio <= 1.25",
            Met = perDetector / perEmpty <= 1.25,
            Extra = new Dictionary<string, double>
            {
                ["memory.bytes_per_alert_config_grain"] = perConfig,
                ["memory.heap_bytes_per_detector"] = (after.Heap - before.Heap) / (double)n,
                ["memory.detectors"] = n,
                ["memory.detector_activations"] = detectors,
                ["memory.alert_config_activations"] = configs,
                ["memory.activate_per_s"] = n / activateSeconds,
            },
        });
        report.Note("memory",
            $"{n:N0} project-regions{(settings.Quick ? " (--quick; the full run uses 100,000)" : "")}, each sent 21 403s within 5 minutes through the client " +
            $"(alerts inactive), every window checked full; live managed heap after a full blocking GC, before and after, divided by N. " +
            "A project-region's detector is one activation (DetectorGrain, holding its active alerts; checked: ingestion activated no AlertConfigGrain) plus what it holds; " +
            $"the baseline is one activation of an empty grain; an AlertConfigGrain alone (state read from storage), which each project-region also kept active before the detector held the configuration, costs {perConfig:N0} B. " +
            "Detectors, empty and config grains are all activated by grains inside the silo, never by the client directly; the bench holds no list of the detectors' keys while it measures.");
    }

    /// <summary>The project-region keys of one activation run.</summary>
    private static List<string> Keys(string prefix, string run, int count) =>
        Enumerable.Range(0, count).Select(i => Scope.Key($"{prefix}-{run}-{i / Regions.Length:D7}", Regions[i % Regions.Length])).ToList();

    /// <summary>Activates and fills <paramref name="count"/> detectors; returns the run's id (see <see cref="Keys"/>).</summary>
    private async Task<string> ActivateDetectorsAsync(string prefix, int count, CancellationToken cancellationToken)
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var keys = Keys(prefix, run, count);
        var now = DateTimeOffset.UtcNow;
        var workload = new Workload(3);
        var ingest = host.Client.GetGrain<IIngestGrain>(0);
        var next = -1;
        var chunks = keys.Chunk(ProjectRegionsPerBatch).ToArray();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            int c;
            while ((c = Interlocked.Increment(ref next)) < chunks.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var events = new List<AuditEvent>(chunks[c].Length * 21);
                foreach (var key in chunks[c])
                {
                    var (project, region) = Scope.ParseKey(key);
                    for (var i = 0; i < 21; i++)
                    {
                        events.Add(workload.Event(project, region, now.AddSeconds(-240 + (i * 10)), 403));
                    }
                }

                var result = await ingest.IngestAsync(Scope.DefaultProjectId, events);
                if (result.Accepted != events.Count)
                {
                    throw new InvalidOperationException($"The engine accepted {result.Accepted} of {events.Count} events: {result.Errors.FirstOrDefault()?.Message}");
                }
            }
        }));
        return run;
    }

    private async Task<int> CountFullWindowsAsync(List<string> keys, CancellationToken cancellationToken)
    {
        var full = 0;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Concurrency * 4).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < keys.Count)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var status = await host.Client.GetGrain<IDetectorGrain>(keys[i]).GetStatusAsync();
                if (status.ForbiddenInWindow == 21)
                {
                    Interlocked.Increment(ref full);
                }
            }
        }));
        return full;
    }

    private async Task PingEmptyAsync(string prefix, int count, CancellationToken cancellationToken)
    {
        var activator = host.Client.GetGrain<IActivatorGrain>(0);
        for (var from = 0; from < count; from += 1000)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await activator.PingEmptyAsync(prefix, from, Math.Min(1000, count - from));
        }
    }

    private async Task ReadConfigsAsync(string prefix, int count, CancellationToken cancellationToken)
    {
        var activator = host.Client.GetGrain<IActivatorGrain>(0);
        var keys = Enumerable.Range(0, count).Select(i => Scope.Key($"{prefix}-{i / Regions.Length:D7}", Regions[i % Regions.Length])).ToArray();
        foreach (var chunk in keys.Chunk(1000))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await activator.ReadConfigsAsync(chunk);
        }
    }

    private async Task<(int Detectors, int Configs)> CountActivationsAsync()
    {
        var statistics = await host.Client.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        int Count(string type) => statistics.Where(s => s.GrainType.Contains(type, StringComparison.Ordinal)).Sum(static s => s.ActivationCount);
        return (Count("DetectorGrain"), Count("AlertConfigGrain"));
    }

    /// <summary>Live managed bytes and heap size after full, blocking, compacting collections.</summary>
    private static (long Live, long Heap) Settle()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        var live = GC.GetTotalMemory(forceFullCollection: true);
        return (live, GC.GetGCMemoryInfo(GCKind.FullBlocking).HeapSizeBytes);
    }
}
