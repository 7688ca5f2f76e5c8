using AuditOrleans.Grains;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Npgsql;
using NpgsqlTypes;
using System.Diagnostics;

namespace AuditOrleans.Bench;

/// <summary>
/// Durable ingest on PostgreSQL: batches sent by the client to one silo (then to two silos of one
/// cluster on the same database), acknowledged once committed, against a plain batched insert of
/// the same rows over one connection (one transaction and one round trip per batch: the inserts
/// of the batch sent together as one NpgsqlBatch) into a database of the same schema on the same
/// throwaway server.
/// </summary>
public sealed class PostgresIngestBench(PostgresServer server, Settings settings, TextWriter log)
{
    private const int Senders = 4;

    private string? baselineConnectionString;

    public async Task RunAsync(string directory, Report report, CancellationToken cancellationToken)
    {
        baselineConnectionString = await server.CreateDatabaseAsync("baseline", cancellationToken);
        await EventLoader.ApplySchemaAsync(new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = baselineConnectionString }, cancellationToken);

        var one = await MeasureAsync("ingest_pg", 1, Path.Combine(directory, "pg1"), cancellationToken);
        Add(report, "ingest_pg", "ingest on PostgreSQL, one silo: events/s, durable", one, "ratio >= 0.6");
        var two = await MeasureAsync("ingest_pg2", 2, Path.Combine(directory, "pg2"), cancellationToken);
        Add(report, "ingest_pg2", "ingest on PostgreSQL, two silos on one database: events/s, durable", two, null);
        report.Note("ingest_pg",
            $"a throwaway PostgreSQL {Path.GetFileName(Path.GetDirectoryName(PostgresServer.BinDirectory))} on 127.0.0.1 (started by the bench: fsync off, synchronous_commit off, as the tests run it; " +
            "the ratio compares two writers on the same server, not absolute durability); " +
            $"{settings.IngestRounds} rounds (median) of {settings.IngestBatches} batches x {settings.IngestBatchSize} events as in ingest, {Senders} calls in flight; " +
            "engine: one silo (ingest_pg), then two silos of one cluster (ADO.NET clustering) on one database (ingest_pg2), both in this process, the client " +
            "knowing both gateways; baseline: one connection, per batch one transaction and one NpgsqlBatch of the same INSERTs into audit_events and " +
            "audit_event_resources, JSON and SHA-256 chain computed in the loop.");
    }

    private static void Add(Report report, string prefix, string label, (List<double> Engine, List<double> Baseline) rates, string? target)
    {
        var engine = Stats.Median(rates.Engine);
        var baseline = Stats.Median(rates.Baseline);
        report.Add(new Figure($"{prefix}.events_per_s", label, engine, "events/s")
        {
            BaselineKey = $"{prefix}.baseline_rows_per_s",
            Baseline = baseline,
            BaselineLabel = "NpgsqlBatch per batch",
            RatioKey = $"{prefix}.ratio",
            Ratio = engine / baseline,
            Target = target,
            Met = target is null ? null : engine / baseline >= 0.6,
            Samples = rates.Engine,
            BaselineSamples = rates.Baseline,
        });
    }

    private async Task<(List<double> Engine, List<double> Baseline)> MeasureAsync(string prefix, int silos, string directory, CancellationToken cancellationToken)
    {
        var connectionString = await server.CreateDatabaseAsync(prefix, cancellationToken);
        await using var host = await BenchHost.StartAsync(directory, silos, o =>
        {
            o.Storage.Provider = StorageProvider.PostgreSql;
            o.Storage.ConnectionString = connectionString;
            o.Cluster.ClusterId = $"bench-{prefix}";
        }, cancellationToken);
        var workload = new Workload(silos * 31);
        await IngestBench.SendAsync(host.Client, Generate(workload, 8), Senders, cancellationToken);
        await BaselineAsync(Generate(workload, 8), cancellationToken);
        var engineRates = new List<double>();
        var baselineRates = new List<double>();
        for (var round = 0; round < settings.IngestRounds; round++)
        {
            var batches = Generate(workload, settings.IngestBatches);
            var events = batches.Sum(static b => b.Events.Count);
            TimeSpan engine, baseline;
            if (round % 2 == 0)
            {
                engine = await IngestBench.SendAsync(host.Client, batches, Senders, cancellationToken);
                baseline = await BaselineAsync(batches, cancellationToken);
            }
            else
            {
                baseline = await BaselineAsync(batches, cancellationToken);
                engine = await IngestBench.SendAsync(host.Client, batches, Senders, cancellationToken);
            }

            engineRates.Add(events / engine.TotalSeconds);
            baselineRates.Add(events / baseline.TotalSeconds);
            log.WriteLine($"  {prefix} round {round + 1}/{settings.IngestRounds}: {events} events, engine ({silos} silo{(silos > 1 ? "s" : "")}) {events / engine.TotalSeconds:N0}/s, baseline {events / baseline.TotalSeconds:N0}/s");
        }

        return (engineRates, baselineRates);
    }

    private List<(string ProjectId, List<AuditEvent> Events)> Generate(Workload workload, int batches)
    {
        var projects = Enumerable.Range(0, settings.IngestProjects).Select(_ => Workload.NewProjectId("pgi")).ToList();
        return workload.Batches(projects, batches, settings.IngestBatchSize, DateTimeOffset.UtcNow);
    }

    private async Task<TimeSpan> BaselineAsync(List<(string ProjectId, List<AuditEvent> Events)> batches, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        await using var connection = new NpgsqlConnection(baselineConnectionString);
        await connection.OpenAsync(cancellationToken);
        var heads = new Dictionary<(string, string), (long Sequence, string Hash)>();
        foreach (var (_, events) in batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(connection, transaction);
            var now = DbTime.ToMicros(DateTimeOffset.UtcNow);
            foreach (var e in events)
            {
                var key = (e.ProjectId!, e.Region!);
                var head = heads.TryGetValue(key, out var h) ? h : (0L, HashChain.Genesis);
                var payload = AuditEventJson.Serialize(e);
                var sequence = head.Item1 + 1;
                var hash = HashChain.Compute(e.ProjectId!, e.Region!, sequence, head.Item2, payload);
                heads[key] = (sequence, hash);
                var insert = new NpgsqlBatchCommand(
                    "INSERT INTO audit_events (project_id, region, seq, event_id, recorded_at, ingested_at, principal_id, source_ip, product_name, method_name, status_code, payload, prev_hash, hash) " +
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)");
                insert.Parameters.Add(new NpgsqlParameter<string>{ TypedValue = e.ProjectId });
                insert.Parameters.Add(new NpgsqlParameter<string>{ TypedValue = e.Region });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = sequence });
                insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Id });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = DbTime.ToMicros(e.RecordedAt!.Value) });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now });
                insert.Parameters.Add(Text(e.PrincipalId));
                insert.Parameters.Add(Text(e.SourceIp));
                insert.Parameters.Add(Text(e.ProductName));
                insert.Parameters.Add(Text(e.MethodName));
                insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = e.StatusCode!.Value });
                insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload });
                insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = head.Item2 });
                insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = hash });
                batch.BatchCommands.Add(insert);
                foreach (var r in e.Resources ?? [])
                {
                    var resource = new NpgsqlBatchCommand("INSERT INTO audit_event_resources (project_id, resource_id, region, seq) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING");
                    resource.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.ProjectId });
                    resource.Parameters.Add(new NpgsqlParameter<string> { TypedValue = r.Id });
                    resource.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Region });
                    resource.Parameters.Add(new NpgsqlParameter<long> { TypedValue = sequence });
                    batch.BatchCommands.Add(resource);
                }
            }

            await batch.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        return stopwatch.Elapsed;
    }

    private static NpgsqlParameter Text(string? value) =>
        value is null ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text } : new NpgsqlParameter<string> { TypedValue = value };
}
