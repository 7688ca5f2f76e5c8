using System.Diagnostics;
using AuditOrleans.Grains.Rules;

namespace AuditOrleans.Bench;

/// <summary>
/// Custom alert rules (docs/rules.md): the cost per stored event of 1, 10 and 100 enabled rules,
/// run exactly as the detector runs them (<see cref="RuleSet"/>: pre-filter, one event map per
/// event, the CEL program, the counting window), with a realistic mix (three rules in four
/// carry a pre-filter on the event kind or method) and with none pre-filtered; and durable
/// ingest with 10 rules in every project-region against the same ingest without rules.
/// </summary>
public sealed class RulesBench(BenchHost host, Settings settings, TextWriter log)
{
    private const int Senders = 4;

    public async Task RunAsync(Report report, CancellationToken cancellationToken)
    {
        var events = Stream(new Random(20), 2_000);
        foreach (var count in new[] { 1, 10, 100 })
        {
            var mixed = Measure(Rules(count, prefiltered: true), events, settings.Quick ? 3 : 7);
            var unfiltered = Measure(Rules(count, prefiltered: false), events[..(count == 100 ? 200 : 1_000)], settings.Quick ? 3 : 5);
            report.Add(new Figure($"rules.ns_per_event.{count}", $"rules: ns per event, {count} enabled rule{(count == 1 ? "" : "s")} (3 in 4 pre-filtered)", mixed, "ns")
            {
                BaselineKey = $"rules.unfiltered_ns_per_event.{count}",
                Baseline = unfiltered,
                BaselineLabel = "none pre-filtered",
            });
            log.WriteLine($"  rules: {count} rules, {mixed:N0} ns/event (mix), {unfiltered:N0} ns/event (none pre-filtered)");
        }

        await IngestAsync(report, cancellationToken);
        report.Note("rules",
            "ns_per_event: RuleSet.Evaluate over a stream of 2,000 events (API events of the ingest workload, 1 in 10 a failed or successful sign-in), " +
            "median of rounds; in the mix, rule i is pre-filtered on its method or on kind == 'authentication' (or on its method and principal) unless i % 4 == 3, which runs CEL on every event " +
            "(a range of statuses and a principal prefix); the baseline row has no rule a pre-filter applies to (that form, or a resources.exists), so CEL runs for every rule on every event. " +
            "ingest ratio: the ingest phase's batches with 10 such rules enabled in each project-region over the same batches without rules (alternating order, median).");
    }

    private async Task IngestAsync(Report report, CancellationToken cancellationToken)
    {
        var workload = new Workload(21);
        var with = new List<double>();
        var without = new List<double>();
        var rounds = settings.Quick ? 3 : 5;
        await SendAsync(workload, 4, rules: false, cancellationToken);
        for (var round = 0; round < rounds; round++)
        {
            double a, b;
            if (round % 2 == 0)
            {
                a = await SendAsync(workload, settings.IngestBatches, rules: true, cancellationToken);
                b = await SendAsync(workload, settings.IngestBatches, rules: false, cancellationToken);
            }
            else
            {
                b = await SendAsync(workload, settings.IngestBatches, rules: false, cancellationToken);
                a = await SendAsync(workload, settings.IngestBatches, rules: true, cancellationToken);
            }

            with.Add(a);
            without.Add(b);
            log.WriteLine($"  rules ingest round {round + 1}/{rounds}: {a:N0}/s with 10 rules, {b:N0}/s without");
        }

        var withMedian = Stats.Median(with);
        var withoutMedian = Stats.Median(without);
        report.Add(new Figure("rules.ingest_events_per_s", "ingest with 10 rules per project-region: events/s", withMedian, "events/s")
        {
            BaselineKey = "rules.ingest_no_rules_events_per_s",
            Baseline = withoutMedian,
            BaselineLabel = "without rules",
            RatioKey = "rules.ingest_ratio",
            Ratio = withMedian / withoutMedian,
            Target = "ratio >= 0.8",
            Met = withMedian / withoutMedian >= 0.8,
            Samples = with,
            BaselineSamples = without,
        });
    }

    /// <summary>Events per second of one round of batches (fresh projects; with 10 rules in each of their project-regions when asked).</summary>
    private async Task<double> SendAsync(Workload workload, int batchCount, bool rules, CancellationToken cancellationToken)
    {
        var projects = Enumerable.Range(0, settings.IngestProjects).Select(_ => Workload.NewProjectId(rules ? "rul" : "nor")).ToList();
        if (rules)
        {
            var drafts = Rules(10, prefiltered: true);
            await Task.WhenAll(projects.SelectMany(static p => new[] { "fr-par", "nl-ams", "pl-waw" }.Select(r => (p, r))).Select(async pr =>
            {
                var config = host.Client.GetGrain<IAlertConfigGrain>(Scope.Key(pr.p, pr.r));
                foreach (var draft in drafts)
                {
                    await config.CreateRuleAsync(draft with { DryRun = true });
                }
            }));
        }

        var batches = workload.Batches(projects, batchCount, settings.IngestBatchSize, DateTimeOffset.UtcNow);
        var ingest = host.Client.GetGrain<IIngestGrain>(0);
        var next = -1;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Senders).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < batches.Count)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var result = await ingest.IngestAsync(batches[i].ProjectId, batches[i].Events);
                if (result.Accepted != batches[i].Events.Count)
                {
                    throw new InvalidOperationException($"The engine accepted {result.Accepted} of {batches[i].Events.Count} events.");
                }
            }
        }));
        return batches.Sum(static b => b.Events.Count) / stopwatch.Elapsed.TotalSeconds;
    }

    /// <summary>Median ns per event of rounds of the rules over the events, as the detector runs them.</summary>
    private static double Measure(IReadOnlyList<AlertRuleDraft> drafts, AuditEvent[] events, int rounds)
    {
        var rules = new RuleSet();
        var now = DateTimeOffset.UtcNow;
        rules.Apply([.. drafts.Select((d, i) => new AlertRule
        {
            Id = $"rule-{i}", Name = d.Name, Query = d.Query, EvaluationWindow = d.EvaluationWindow, Occurrences = d.Occurrences,
            Severity = d.Severity, Enabled = true, CreatedAt = now, UpdatedAt = now,
        })]);
        if (rules.EnabledCount != drafts.Count)
        {
            throw new InvalidOperationException($"{drafts.Count - rules.EnabledCount} bench rules did not compile.");
        }

        foreach (var e in events)
        {
            rules.Evaluate(e);
        }

        var samples = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var stopwatch = Stopwatch.StartNew();
            foreach (var e in events)
            {
                rules.Evaluate(e);
            }

            samples.Add(stopwatch.Elapsed.TotalNanoseconds / events.Length);
        }

        return Stats.Median(samples);
    }

    /// <summary>Rules such as users write: per method, per sign-in failure, per principal on 403s, per resource type.</summary>
    public static List<AlertRuleDraft> Rules(int count, bool prefiltered) => [.. Enumerable.Range(0, count).Select(i => new AlertRuleDraft
    {
        Name = $"bench-rule-{i}",
        Query = (prefiltered ? i % 4 : 3 + (i % 2)) switch
        {
            0 => $"event.method_name == 'DeleteServer{i}' && event.status_code < 300",
            1 => $"event.kind == 'authentication' && event.result == 'failure' && event.source_ip == '198.51.100.{i % 250}'",
            2 => $"event.method_name in ['CreateServer', 'DeleteServer'] && event.principal.id == 'principal-{i % 50:D3}'",
            3 => $"event.status_code >= 400 && event.principal.id.startsWith('principal-{i % 50:D3}')",
            _ => $"event.resources.exists(r, r.type == 'secret_{i}')",
        },
        EvaluationWindow = TimeSpan.FromMinutes(5),
        Occurrences = 5,
        Severity = RuleSeverity.Warning,
    })];

    private static AuditEvent[] Stream(Random random, int count)
    {
        var workload = new Workload(random.Next());
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        return [.. Enumerable.Range(0, count).Select(i => i % 10 == 9
            ? new AuditEvent
            {
                Kind = EventKind.Authentication, Id = Guid.NewGuid().ToString(), RecordedAt = start.AddMilliseconds(i * 50), Region = "fr-par", ProjectId = "bench",
                OrganizationId = "bench", Result = random.Next(3) == 0 ? "failure" : "success", SourceIp = $"198.51.100.{random.Next(1, 255)}", CountryCode = "FR",
            }
            : workload.Event("bench", "fr-par", start.AddMilliseconds(i * 50)))];
    }
}
