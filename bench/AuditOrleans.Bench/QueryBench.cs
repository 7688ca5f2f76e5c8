using AuditOrleans.Grains;
using System.Diagnostics;

namespace AuditOrleans.Bench;

/// <summary>
/// Filtered pages of the log as <c>Get-AuditEvent</c> reads them (an external client calling
/// <see cref="IAuditLogGrain.QueryAsync"/>, the default page of 100 events) over a large log:
/// one project-region holding <see cref="Settings.QueryEvents"/> events over 30 days, and as many
/// again spread over 100 projects of three regions each. The figure is over every filtered query
/// (principal, source IP, status, method, a time range; common and rare values; with and without
/// a region); the baseline is the unfiltered newest page, timed in the same rounds.
/// </summary>
public sealed class QueryBench(Settings settings, TextWriter log)
{
    private const string Big = "query-big";
    private const string BigRegion = "fr-par";
    private const int SmallProjects = 100;
    private static readonly string[] Regions = ["fr-par", "nl-ams", "pl-waw"];

    /// <summary>Times the queries on a database reached through <paramref name="storage"/>; keys start with <paramref name="prefix"/> (query, query_pg).</summary>
    public async Task RunAsync(string prefix, string label, string directory, Grains.StorageOptions storage, Report report, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var from = now.AddDays(-30);
        var n = settings.QueryEvents;
        var chains = new List<ChainLoad> { new(Big, BigRegion, n, from, now.AddMinutes(-1)) };
        for (var p = 0; p < SmallProjects; p++)
        {
            foreach (var region in Regions)
            {
                chains.Add(new ChainLoad(Small(p), region, n / SmallProjects / Regions.Length, from, now.AddMinutes(-1)));
            }
        }

        var load = Stopwatch.StartNew();
        // A rare principal and a rare address: one event in 20,000 each.
        await EventLoader.LoadAsync(storage, chains, static (e, i) => (i % 20_000) switch
        {
            7 => e with { PrincipalId = "principal-rare" },
            13 => e with { SourceIp = "203.0.113.9" },
            _ => e,
        }, cancellationToken);
        log.WriteLine($"  {prefix}: {n * 2:N0} events written in {load.Elapsed.TotalSeconds:0.0} s ({label})");

        await using var host = await BenchHost.StartAsync(directory, o =>
        {
            o.Storage.Provider = storage.Provider;
            o.Storage.ConnectionString = storage.ConnectionString;
        }, cancellationToken);
        var grain = host.Client.GetGrain<IAuditLogGrain>(0);
        var queries = Queries(now).ToList();
        var samples = queries.ToDictionary(static q => q.Key, static _ => new List<double>());

        // One warm-up pass (JIT, first activation, the database's cache), then the timed rounds,
        // each query once per round, in the same order.
        for (var round = -1; round < settings.QueryRounds; round++)
        {
            foreach (var (key, query) in queries)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var started = Stopwatch.GetTimestamp();
                var page = await grain.QueryAsync(query);
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (page.Records.Count == 0 && !key.Contains("hour", StringComparison.Ordinal) && !key.StartsWith("projects_", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"{prefix} {key} found no event: the bench's data or query is wrong.");
                }

                if (round >= 0)
                {
                    samples[key].Add(ms);
                }
            }
        }

        var filtered = samples.Where(static s => s.Key != "newest").SelectMany(static s => s.Value).ToList();
        var baseline = samples["newest"];
        var p50 = Stats.Percentile(filtered, 50);
        var p99 = Stats.Percentile(filtered, 99);
        var worst = samples.Where(static s => s.Key != "newest").MaxBy(static s => Stats.Median(s.Value));
        log.WriteLine($"  {prefix}: filtered pages p50 {p50:0.0} ms, p99 {p99:0.0} ms (slowest: {worst.Key}, median {Stats.Median(worst.Value):0.0} ms); newest page p50 {Stats.Median(baseline):0.0} ms");
        var extra = samples.ToDictionary(static s => $"{s.Key}_ms", static s => Stats.Median(s.Value))
            .ToDictionary(kv => $"{prefix}.{kv.Key}", static kv => kv.Value);
        extra[$"{prefix}.events"] = n * 2;
        extra[$"{prefix}.samples"] = filtered.Count;
        report.Add(new Figure($"{prefix}.p50_ms", $"{label}: a filtered page of 100 events (Get-AuditEvent), p50", p50, "ms")
        {
            BaselineKey = $"{prefix}.baseline_p50_ms",
            Baseline = Stats.Percentile(baseline, 50),
            BaselineLabel = "newest page, no filter",
            RatioKey = $"{prefix}.p50_ratio",
            Ratio = p50 / Stats.Percentile(baseline, 50),
        });
        report.Add(new Figure($"{prefix}.p99_ms", $"{label}: a filtered page of 100 events (Get-AuditEvent), p99", p99, "ms")
        {
            BaselineKey = $"{prefix}.baseline_p99_ms",
            Baseline = Stats.Percentile(baseline, 99),
            BaselineLabel = "newest page, no filter",
            RatioKey = $"{prefix}.p99_ratio",
            Ratio = p99 / Stats.Percentile(baseline, 99),
            Target = "<= 50 ms",
            Met = p99 <= 50,
            Samples = filtered,
            Extra = extra,
        });
        report.Note(prefix,
            $"{label}: project {Big} holds {n:N0} events in {BigRegion} over 30 days (50 principals, 254 source IPs, 7 methods, 4% HTTP 403, " +
            $"one principal and one address in 20,000 rare), and {SmallProjects} more projects hold {n:N0} events over 3 regions; " +
            $"{queries.Count - 1} filtered queries ({string.Join(", ", queries.Skip(1).Select(static q => q.Key))}) each timed {settings.QueryRounds} times " +
            "after one warm-up pass, from an external client through IAuditLogGrain.QueryAsync (page of 100, newest first, as Get-AuditEvent -First 100); " +
            "figure: nearest-rank percentiles over all of them; baseline: the newest page without a filter.");
    }

    private static string Small(int index) => $"query-small-{index:D3}";

    private static IEnumerable<(string Key, AuditQuery Query)> Queries(DateTimeOffset now)
    {
        var month = now.AddDays(-30);
        AuditQuery Big(string? region = null) => new() { ProjectId = QueryBench.Big, Region = region, RecordedAfter = month, RecordedBefore = now, PageSize = QueryLimits.DefaultPageSize };
        AuditQuery Other() => new() { ProjectId = Small(37), RecordedAfter = month, RecordedBefore = now, PageSize = QueryLimits.DefaultPageSize };
        yield return ("newest", Big());
        yield return ("principal", Big() with { PrincipalId = "principal-007" });
        yield return ("principal_rare", Big() with { PrincipalId = "principal-rare" });
        yield return ("principal_region", Big(BigRegion) with { PrincipalId = "principal-007" });
        yield return ("principal_rare_region", Big(BigRegion) with { PrincipalId = "principal-rare" });
        yield return ("principal_403", Big() with { PrincipalId = "principal-007", StatusCode = 403 });
        yield return ("source_ip", Big() with { SourceIp = "198.51.100.7" });
        yield return ("source_ip_rare", Big() with { SourceIp = "203.0.113.9" });
        yield return ("source_ip_region", Big(BigRegion) with { SourceIp = "203.0.113.9" });
        yield return ("status_403_day", Big() with { StatusCode = 403, RecordedAfter = now.AddDays(-1) });
        yield return ("method_403", Big() with { MethodName = "ListIPs", StatusCode = 403 });
        yield return ("method", Big() with { MethodName = "DeleteServer" });
        yield return ("hour_10_days_ago", Big() with { RecordedAfter = now.AddDays(-10), RecordedBefore = now.AddDays(-10).AddHours(1) });
        yield return ("projects_principal", Other() with { PrincipalId = "principal-007" });
        yield return ("projects_source_ip", Other() with { SourceIp = "198.51.100.7" });
        yield return ("projects_status_403", Other() with { StatusCode = 403 });
        yield return ("projects_method", Other() with { MethodName = "CreateServer" });
        yield return ("projects_hour", Other() with { RecordedAfter = now.AddDays(-3), RecordedBefore = now.AddDays(-3).AddHours(6) });
    }
}
