using System.Diagnostics;

namespace AuditOrleans.Bench;

/// <summary>
/// Detection latency while the silo is busy: the same trials as <see cref="DetectLatencyBench"/>
/// (fresh project-region, 20 403s, then the 21st), timed from the start of the client call that
/// carries the 21st 403 to the SMTP server's 250, while other projects' traffic holds the silo at
/// half of the ingest rate measured just before in the same process. The baseline is the same
/// trial on the idle silo, run right before the loaded ones.
/// </summary>
public sealed class LoadedDetectBench(BenchHost host, BenchSmtpServer smtp, Settings settings, TextWriter log)
{
    /// <summary>Events per background batch: forwarders that flush every few hundred milliseconds.</summary>
    private const int BackgroundBatchSize = 100;

    private const int BackgroundProjects = 50;
    private const int MaxInFlight = 4;

    public async Task RunAsync(Report report, CancellationToken cancellationToken)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var workload = new Workload(23);

        // The silo's ingest rate now, with the background's batches and projects (4 calls in flight, as fast as it goes).
        var projects = Enumerable.Range(0, BackgroundProjects).Select(_ => Workload.NewProjectId("bg")).ToList();
        var background = new Workload(29);
        await IngestBench.SendAsync(host.Client, background.Batches(projects, 20, BackgroundBatchSize, DateTimeOffset.UtcNow), MaxInFlight, cancellationToken);
        var probe = background.Batches(projects, Math.Max(40, settings.IngestBatches * 5), BackgroundBatchSize, DateTimeOffset.UtcNow);
        var full = probe.Sum(static b => b.Events.Count) / (await IngestBench.SendAsync(host.Client, probe, MaxInFlight, cancellationToken)).TotalSeconds;
        // Half of that rate, as the target is defined; --loaded-rate sets it instead, to compare runs at one load.
        var target = settings.LoadedRate ?? full / 2;

        // Idle baseline: the same trials without background traffic.
        for (var i = 0; i < 5; i++)
        {
            await DetectLatencyBench.TrialAsync(host, smtp, workload, $"lw{run}-{i:D4}", cancellationToken);
        }

        var idle = new List<double>();
        for (var i = 0; i < settings.DetectTrials; i++)
        {
            idle.Add((await DetectLatencyBench.TrialAsync(host, smtp, workload, $"li{run}-{i:D4}", cancellationToken)).FromCall);
        }

        // The loaded trials' project-regions are set up before the load starts: a configuration
        // change writes grain state, which waits for a gap between ingestion's write groups, and
        // one per trial would slow the background that the trials are meant to run beside.
        for (var i = 0; i < settings.DetectTrials; i++)
        {
            await DetectLatencyBench.PrepareAsync(host, $"l{run}-{i:D4}");
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long sent = 0;
        var load = Task.Run(() => BackgroundAsync(background, projects, target, () => Interlocked.Read(ref sent), n => Interlocked.Add(ref sent, n), stop.Token), CancellationToken.None);
        var loadClock = Stopwatch.StartNew();
        var loaded = new List<double>();
        try
        {
            // Let the background reach its pace before the first trial.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            log.WriteLine($"  detect_loaded: background at {target:N0} events/s asked; {settings.DetectTrials} trials running");
            for (var i = 0; i < settings.DetectTrials; i++)
            {
                loaded.Add((await DetectLatencyBench.TrialAsync(host, smtp, workload, $"l{run}-{i:D4}", cancellationToken, prepared: true)).FromCall);
                if (load.IsFaulted)
                {
                    await load;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await load;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }

        var achieved = Interlocked.Read(ref sent) / loadClock.Elapsed.TotalSeconds;
        var p50 = Stats.Percentile(loaded, 50);
        var p99 = Stats.Percentile(loaded, 99);
        log.WriteLine($"  detect_loaded: full ingest {full:N0}/s, background {achieved:N0}/s (asked {target:N0}/s); p50 {p50:0.0} ms, p99 {p99:0.0} ms, max {loaded.Max():0.0} ms; idle p50 {Stats.Percentile(idle, 50):0.0} ms, p99 {Stats.Percentile(idle, 99):0.0} ms");
        report.Add(new Figure("detect_loaded.p50_ms", "detect under load: start of the call with the 21st 403 -> SMTP 250, p50", p50, "ms")
        {
            BaselineKey = "detect_loaded.baseline_p50_ms",
            Baseline = Stats.Percentile(idle, 50),
            BaselineLabel = "same trial, idle silo",
            RatioKey = "detect_loaded.p50_ratio",
            Ratio = p50 / Stats.Percentile(idle, 50),
        });
        report.Add(new Figure("detect_loaded.p99_ms", "detect under load: start of the call with the 21st 403 -> SMTP 250, p99", p99, "ms")
        {
            BaselineKey = "detect_loaded.baseline_p99_ms",
            Baseline = Stats.Percentile(idle, 99),
            BaselineLabel = "same trial, idle silo",
            RatioKey = "detect_loaded.p99_ratio",
            Ratio = p99 / Stats.Percentile(idle, 99),
            Target = "<= 25 ms",
            Met = p99 <= 25,
            Samples = loaded,
            BaselineSamples = idle,
            Extra = new Dictionary<string, double>
            {
                ["detect_loaded.background_events_per_s"] = achieved,
                ["detect_loaded.full_events_per_s"] = full,
                ["detect_loaded.max_ms"] = loaded.Max(),
                ["detect_loaded.trials"] = loaded.Count,
            },
        });
        report.Note("detect_loaded",
            $"{loaded.Count} trials as in detect (their project-regions given a contact and the alert before the background starts), the clock started when the IngestAsync call carrying the 21st 403 starts (not when it returns); meanwhile " +
            $"{BackgroundProjects} other projects send batches of {BackgroundBatchSize} events over 3 regions, paced to " +
            (settings.LoadedRate is { } fixedRate ? $"{fixedRate:N0} events/s (--loaded-rate; " : "half of the rate (") +
            $"the silo reached {full:N0} events/s just before with the same traffic as fast as it goes, at most {MaxInFlight} calls in flight), achieved " +
            $"{achieved:N0} events/s; baseline: the same trials on the idle silo, right before.");
    }

    /// <summary>Sends batches paced to <paramref name="eventsPerSecond"/> (never more than <see cref="MaxInFlight"/> calls at once) until cancelled.</summary>
    private async Task BackgroundAsync(Workload workload, List<string> projects, double eventsPerSecond, Func<long> sent, Action<long> add, CancellationToken cancellationToken)
    {
        var ingest = host.Client.GetGrain<IIngestGrain>(0);
        var clock = Stopwatch.StartNew();
        var inFlight = new List<Task>();
        var next = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var due = TimeSpan.FromSeconds(sent() / eventsPerSecond) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, cancellationToken);
            }

            inFlight.RemoveAll(static t => t.IsCompleted);
            if (inFlight.Count >= MaxInFlight)
            {
                await Task.WhenAny(inFlight);
                continue;
            }

            var (project, events) = workload.Batches([projects[next++ % projects.Count]], 1, BackgroundBatchSize, DateTimeOffset.UtcNow)[0];
            add(events.Count);
            inFlight.Add(SendAsync(ingest, project, events));
        }

        await Task.WhenAll(inFlight);
    }

    private static async Task SendAsync(IIngestGrain ingest, string project, List<AuditEvent> events)
    {
        var result = await ingest.IngestAsync(project, events);
        if (result.Accepted != events.Count)
        {
            throw new InvalidOperationException($"The background batch was not fully accepted: {result.Errors.FirstOrDefault()?.Message}");
        }
    }
}
