using System.Diagnostics;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using AuditOrleans.Grains.AuditLog;

namespace AuditOrleans.Bench;

/// <summary>
/// Durable ingest: batches sent by the Orleans client to the silo and acknowledged once
/// committed (SQLite WAL, synchronous=FULL), against a plain batched ADO.NET loop that writes
/// the same rows (same schema file, same indexes, same PRAGMAs) into a fresh SQLite file.
/// </summary>
public sealed class IngestBench(BenchHost host, Settings settings, TextWriter log)
{
    private const int Senders = 4;

    private bool baselineReady;

    private static readonly string[] Columns = ["@p", "@r", "@s", "@id", "@at", "@in", "@pr", "@ip", "@prod", "@m", "@st", "@pl", "@ph", "@h"];

    public async Task RunAsync(Report report, CancellationToken cancellationToken)
    {
        var workload = new Workload(7);
        var engineRates = new List<double>();
        var baselineRates = new List<double>();

        // Warm-up of both paths (JIT, connection pools, first activations); not counted.
        await EngineAsync(Generate(workload, 8), cancellationToken);
        await BaselineAsync(Generate(workload, 8), cancellationToken);

        for (var round = 0; round < settings.IngestRounds; round++)
        {
            // The same batches for both; fresh projects each round so every chain starts anew.
            var batches = Generate(workload, settings.IngestBatches);
            var events = batches.Sum(static b => b.Events.Count);
            // Alternate which runs first, so that neither always follows the other's leftovers (WAL checkpoints, GC).
            TimeSpan engine, baseline;
            if (round % 2 == 0)
            {
                engine = await EngineAsync(batches, cancellationToken);
                baseline = await BaselineAsync(batches, cancellationToken);
            }
            else
            {
                baseline = await BaselineAsync(batches, cancellationToken);
                engine = await EngineAsync(batches, cancellationToken);
            }

            engineRates.Add(events / engine.TotalSeconds);
            baselineRates.Add(events / baseline.TotalSeconds);
            log.WriteLine($"  ingest round {round + 1}/{settings.IngestRounds}: {events} events, engine {events / engine.TotalSeconds:N0}/s, baseline {events / baseline.TotalSeconds:N0}/s");
        }

        var engineMedian = Stats.Median(engineRates);
        var baselineMedian = Stats.Median(baselineRates);
        report.Add(new Figure("ingest.events_per_s", "ingest: events/s, Orleans client to silo, durable", engineMedian, "events/s")
        {
            BaselineKey = "ingest.baseline_rows_per_s",
            Baseline = baselineMedian,
            RatioKey = "ingest.ratio",
            Ratio = engineMedian / baselineMedian,
            Target = "ratio >= 0.8",
            Met = engineMedian / baselineMedian >= 0.8,
            Samples = engineRates,
            BaselineSamples = baselineRates,
        });
        report.Note("ingest",
            $"{settings.IngestRounds} rounds (median) of {settings.IngestBatches} batches x {settings.IngestBatchSize} events, one project per batch " +
            $"spread over 3 regions, {settings.IngestProjects} projects per round; engine: {Senders} concurrent IngestAsync calls from an external client over " +
            "the gateway, acknowledged after commit; baseline: one connection, one transaction per batch, the same INSERTs into audit_events and " +
            "audit_event_resources of a SQLite file created fresh for the run (growing round after round like the silo's), " +
            "with the JSON payload and SHA-256 chain computed in the loop.");
    }

    private List<(string ProjectId, List<AuditEvent> Events)> Generate(Workload workload, int batches)
    {
        var projects = Enumerable.Range(0, settings.IngestProjects).Select(_ => Workload.NewProjectId("ing")).ToList();
        return workload.Batches(projects, batches, settings.IngestBatchSize, DateTimeOffset.UtcNow);
    }

    private Task<TimeSpan> EngineAsync(List<(string ProjectId, List<AuditEvent> Events)> batches, CancellationToken cancellationToken) =>
        SendAsync(host.Client, batches, Senders, cancellationToken);

    /// <summary>Sends the batches through the client, <paramref name="senders"/> calls in flight, each checked fully accepted; returns the time taken.</summary>
    public static async Task<TimeSpan> SendAsync(IClusterClient client, IReadOnlyList<(string ProjectId, List<AuditEvent> Events)> batches, int senders, CancellationToken cancellationToken)
    {
        var ingest = client.GetGrain<IIngestGrain>(0);
        var next = -1;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, senders).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < batches.Count)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (project, events) = batches[i];
                var result = await ingest.IngestAsync(project, events);
                if (result.Accepted != events.Count)
                {
                    throw new InvalidOperationException(
                        $"The engine accepted {result.Accepted} of {events.Count} events ({result.Duplicates} duplicates, first error: {result.Errors.FirstOrDefault()?.Message}).");
                }
            }
        }));
        return stopwatch.Elapsed;
    }

    private async Task<TimeSpan> BaselineAsync(List<(string ProjectId, List<AuditEvent> Events)> batches, CancellationToken cancellationToken)
    {
        // One file for the run, fresh at its start and growing round after round like the silo's.
        var connectionString = $"Data Source={Path.Combine(host.Directory, "baseline-ingest.db")};Pooling=False";
        if (!baselineReady)
        {
            // The same schema file, applied by the engine's own code (not timed).
            using var database = new AuditDatabase(
                Options.Create(new AuditOrleansOptions { Storage = { ConnectionString = connectionString } }), NullLogger<AuditDatabase>.Instance);
            await database.ApplySchemaAsync(cancellationToken);
            baselineReady = true;
        }

        var stopwatch = Stopwatch.StartNew();
        await using (var connection = new SqliteConnection(connectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000; PRAGMA cache_size=-65536;";
                await pragma.ExecuteNonQueryAsync(cancellationToken);
            }

            var heads = new Dictionary<(string, string), (long Sequence, string Hash)>();
            await using var insert = connection.CreateCommand();
            insert.CommandText =
                "INSERT INTO audit_events (project_id, region, seq, event_id, recorded_at, ingested_at, principal_id, source_ip, product_name, method_name, status_code, payload, prev_hash, hash) " +
                "VALUES (@p, @r, @s, @id, @at, @in, @pr, @ip, @prod, @m, @st, @pl, @ph, @h)";
            var p = Columns.ToDictionary(static c => c, c => insert.Parameters.Add(new SqliteParameter { ParameterName = c }), StringComparer.Ordinal);
            await using var resource = connection.CreateCommand();
            resource.CommandText = "INSERT INTO audit_event_resources (project_id, resource_id, region, seq) VALUES (@p, @x, @r, @s) ON CONFLICT DO NOTHING";
            var rp = resource.Parameters.Add(new SqliteParameter { ParameterName = "@p" });
            var rx = resource.Parameters.Add(new SqliteParameter { ParameterName = "@x" });
            var rr = resource.Parameters.Add(new SqliteParameter { ParameterName = "@r" });
            var rs = resource.Parameters.Add(new SqliteParameter { ParameterName = "@s" });

            foreach (var (_, events) in batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
                insert.Transaction = transaction;
                resource.Transaction = transaction;
                var now = DbTime.ToMicros(DateTimeOffset.UtcNow);
                foreach (var e in events)
                {
                    var key = (e.ProjectId!, e.Region!);
                    var head = heads.TryGetValue(key, out var h) ? h : (0L, HashChain.Genesis);
                    var payload = AuditEventJson.Serialize(e);
                    var sequence = head.Item1 + 1;
                    var hash = HashChain.Compute(e.ProjectId!, e.Region!, sequence, head.Item2, payload);
                    heads[key] = (sequence, hash);
                    p["@p"].Value = e.ProjectId;
                    p["@r"].Value = e.Region;
                    p["@s"].Value = sequence;
                    p["@id"].Value = e.Id;
                    p["@at"].Value = DbTime.ToMicros(e.RecordedAt!.Value);
                    p["@in"].Value = now;
                    p["@pr"].Value = (object?)e.PrincipalId ?? DBNull.Value;
                    p["@ip"].Value = (object?)e.SourceIp ?? DBNull.Value;
                    p["@prod"].Value = (object?)e.ProductName ?? DBNull.Value;
                    p["@m"].Value = (object?)e.MethodName ?? DBNull.Value;
                    p["@st"].Value = e.StatusCode!.Value;
                    p["@pl"].Value = payload;
                    p["@ph"].Value = head.Item2;
                    p["@h"].Value = hash;
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                    foreach (var r in e.Resources ?? [])
                    {
                        rp.Value = e.ProjectId;
                        rx.Value = r.Id;
                        rr.Value = e.Region;
                        rs.Value = sequence;
                        await resource.ExecuteNonQueryAsync(cancellationToken);
                    }
                }

                await transaction.CommitAsync(cancellationToken);
            }
        }

        return stopwatch.Elapsed;
    }
}
