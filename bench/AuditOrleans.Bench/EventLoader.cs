using AuditOrleans.Grains;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace AuditOrleans.Bench;

/// <summary>One chain to write: a project-region and its events spread evenly over a time span.</summary>
public sealed record ChainLoad(string ProjectId, string Region, int Events, DateTimeOffset From, DateTimeOffset To);

/// <summary>
/// Writes stored events straight into a fresh database, as the engine would have written them
/// (the schema applied by the engine's own code, canonical JSON, a hash chain per project-region,
/// the resource index), so that the query phases start with months of log in seconds rather than
/// ingesting them. SQLite: plain batched inserts; PostgreSQL: binary COPY.
/// </summary>
public static class EventLoader
{
    private const string Columns = "project_id, region, seq, event_id, recorded_at, ingested_at, principal_id, source_ip, product_name, method_name, status_code, payload, prev_hash, hash";

    /// <summary>The schema of <paramref name="storage"/>'s database, applied by the engine (deploy/sql).</summary>
    public static async Task ApplySchemaAsync(StorageOptions storage, CancellationToken cancellationToken)
    {
        using var database = new AuditDatabase(Options.Create(new AuditOrleansOptions { Storage = storage }), NullLogger<AuditDatabase>.Instance);
        await database.ApplySchemaAsync(cancellationToken);
    }

    /// <summary>Writes the chains; <paramref name="shape"/> may change each event (rare principals, addresses).</summary>
    public static async Task LoadAsync(StorageOptions storage, IReadOnlyList<ChainLoad> chains, Func<AuditEvent, int, AuditEvent>? shape, CancellationToken cancellationToken)
    {
        await ApplySchemaAsync(storage, cancellationToken);
        if (storage.Provider == StorageProvider.Sqlite)
        {
            await LoadSqliteAsync(storage.ConnectionString, chains, shape, cancellationToken);
        }
        else
        {
            await LoadPostgresAsync(storage.ConnectionString, chains, shape, cancellationToken);
        }
    }

    private static IEnumerable<(ChainLoad Chain, long Sequence, AuditEvent Event, string Payload, string PreviousHash, string Hash)> Rows(
        IReadOnlyList<ChainLoad> chains, Func<AuditEvent, int, AuditEvent>? shape)
    {
        var workload = new Workload(17);
        foreach (var chain in chains)
        {
            var previous = HashChain.Genesis;
            var step = (chain.To - chain.From).Ticks / Math.Max(1, chain.Events);
            for (var i = 0; i < chain.Events; i++)
            {
                var e = workload.Event(chain.ProjectId, chain.Region, chain.From.AddTicks(step * i));
                if (shape is not null)
                {
                    e = shape(e, i);
                }

                var payload = AuditEventJson.Serialize(e);
                var sequence = i + 1L;
                var hash = HashChain.Compute(chain.ProjectId, chain.Region, sequence, previous, payload);
                yield return (chain, sequence, e, payload, previous, hash);
                previous = hash;
            }
        }
    }

    private static async Task LoadSqliteAsync(string connectionString, IReadOnlyList<ChainLoad> chains, Func<AuditEvent, int, AuditEvent>? shape, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString());
        await connection.OpenAsync(cancellationToken);
        await using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var insert = connection.CreateCommand();
        insert.CommandText = $"INSERT INTO audit_events ({Columns}) VALUES (@p, @r, @s, @id, @at, @in, @pr, @ip, @prod, @m, @st, @pl, @ph, @h)";
        var p = new[] { "@p", "@r", "@s", "@id", "@at", "@in", "@pr", "@ip", "@prod", "@m", "@st", "@pl", "@ph", "@h" }
            .ToDictionary(static c => c, c => insert.Parameters.Add(new SqliteParameter { ParameterName = c }), StringComparer.Ordinal);
        await using var resource = connection.CreateCommand();
        resource.CommandText = "INSERT INTO audit_event_resources (project_id, resource_id, region, seq) VALUES (@p, @x, @r, @s)";
        var rp = resource.Parameters.Add(new SqliteParameter { ParameterName = "@p" });
        var rx = resource.Parameters.Add(new SqliteParameter { ParameterName = "@x" });
        var rr = resource.Parameters.Add(new SqliteParameter { ParameterName = "@r" });
        var rs = resource.Parameters.Add(new SqliteParameter { ParameterName = "@s" });

        SqliteTransaction? transaction = null;
        var inTransaction = 0;
        try
        {
            foreach (var (chain, sequence, e, payload, previous, hash) in Rows(chains, shape))
            {
                if (transaction is null)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
                    insert.Transaction = transaction;
                    resource.Transaction = transaction;
                }

                p["@p"].Value = chain.ProjectId;
                p["@r"].Value = chain.Region;
                p["@s"].Value = sequence;
                p["@id"].Value = e.Id;
                p["@at"].Value = DbTime.ToMicros(e.RecordedAt!.Value);
                p["@in"].Value = DbTime.ToMicros(e.RecordedAt!.Value);
                p["@pr"].Value = (object?)e.PrincipalId ?? DBNull.Value;
                p["@ip"].Value = (object?)e.SourceIp ?? DBNull.Value;
                p["@prod"].Value = (object?)e.ProductName ?? DBNull.Value;
                p["@m"].Value = (object?)e.MethodName ?? DBNull.Value;
                p["@st"].Value = e.StatusCode!.Value;
                p["@pl"].Value = payload;
                p["@ph"].Value = previous;
                p["@h"].Value = hash;
                await insert.ExecuteNonQueryAsync(cancellationToken);
                foreach (var r in e.Resources ?? [])
                {
                    rp.Value = chain.ProjectId;
                    rx.Value = r.Id;
                    rr.Value = chain.Region;
                    rs.Value = sequence;
                    await resource.ExecuteNonQueryAsync(cancellationToken);
                }

                if (++inTransaction == 50_000)
                {
                    await transaction.CommitAsync(cancellationToken);
                    await transaction.DisposeAsync();
                    transaction = null;
                    inTransaction = 0;
                }
            }

            if (transaction is not null)
            {
                await transaction.CommitAsync(cancellationToken);
            }
        }
        finally
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync();
            }
        }

        // No ANALYZE: the engine never runs one, so the planner sees what an installation's does.
        await using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        await checkpoint.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task LoadPostgresAsync(string connectionString, IReadOnlyList<ChainLoad> chains, Func<AuditEvent, int, AuditEvent>? shape, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var resources = new List<(string Project, string Resource, string Region, long Sequence)>();
        await using (var writer = await connection.BeginBinaryImportAsync($"COPY audit_events ({Columns}) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var (chain, sequence, e, payload, previous, hash) in Rows(chains, shape))
            {
                await writer.StartRowAsync(cancellationToken);
                await writer.WriteAsync(chain.ProjectId, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(chain.Region, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(sequence, NpgsqlDbType.Bigint, cancellationToken);
                await writer.WriteAsync(e.Id!, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(DbTime.ToMicros(e.RecordedAt!.Value), NpgsqlDbType.Bigint, cancellationToken);
                await writer.WriteAsync(DbTime.ToMicros(e.RecordedAt!.Value), NpgsqlDbType.Bigint, cancellationToken);
                await WriteTextAsync(writer, e.PrincipalId, cancellationToken);
                await WriteTextAsync(writer, e.SourceIp, cancellationToken);
                await WriteTextAsync(writer, e.ProductName, cancellationToken);
                await WriteTextAsync(writer, e.MethodName, cancellationToken);
                await writer.WriteAsync(e.StatusCode!.Value, NpgsqlDbType.Integer, cancellationToken);
                await writer.WriteAsync(payload, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(previous, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(hash, NpgsqlDbType.Text, cancellationToken);
                foreach (var r in e.Resources ?? [])
                {
                    resources.Add((chain.ProjectId, r.Id!, chain.Region, sequence));
                }
            }

            await writer.CompleteAsync(cancellationToken);
        }

        await using (var writer = await connection.BeginBinaryImportAsync("COPY audit_event_resources (project_id, resource_id, region, seq) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var (project, resource, region, sequence) in resources)
            {
                await writer.StartRowAsync(cancellationToken);
                await writer.WriteAsync(project, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(resource, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(region, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(sequence, NpgsqlDbType.Bigint, cancellationToken);
            }

            await writer.CompleteAsync(cancellationToken);
        }

        // What autovacuum leaves on a table this size: the planner's statistics and the visibility
        // map (without it, every index-only scan also reads the table).
        foreach (var table in (string[])["audit_events", "audit_event_resources"])
        {
            await using var vacuum = new NpgsqlCommand($"VACUUM ANALYZE {table}", connection) { CommandTimeout = 600 };
            await vacuum.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static Task WriteTextAsync(NpgsqlBinaryImporter writer, string? value, CancellationToken cancellationToken) =>
        value is null ? writer.WriteNullAsync(cancellationToken) : writer.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);
}
