using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// Appends to the audit log (docs/architecture.md, The path of one event): the events of a
/// batch with their hash chain, and the firings they caused with their facts read from the log,
/// in one transaction; plus what the detector reads back to rebuild its state (chain head, the
/// newest 403s, the open episode) and the idempotency lookup by event id.
/// </summary>
public sealed partial class AuditLogWriter(AuditDatabase database, IFiringRecorder outbox)
{
    /// <summary>How many principals and source IPs an alert lists.</summary>
    public const int TopCount = 5;

    /// <summary>How a 403 without a principal is counted among the top principals.</summary>
    public const string Anonymous = "(anonymous)";

    /// <summary>How a 403 without a source IP is counted among the top source IPs.</summary>
    public const string UnknownIp = "(unknown)";

    public async Task<ChainHead> GetHeadAsync(string projectId, string region, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
        await using var command = Command(connection, null,
            "SELECT seq, hash FROM audit_events WHERE project_id = @p AND region = @r ORDER BY seq DESC LIMIT 1",
            ("@p", projectId), ("@r", region));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            return new ChainHead(reader.GetInt64(0), reader.GetString(1));
        }

        reader.Close();
        await using var anchor = Command(connection, null,
            "SELECT seq, hash FROM audit_chain_anchors WHERE project_id = @p AND region = @r",
            ("@p", projectId), ("@r", region));
        await using var anchorReader = await anchor.ExecuteReaderAsync(cancellationToken);
        return await anchorReader.ReadAsync(cancellationToken)
            ? new ChainHead(anchorReader.GetInt64(0), anchorReader.GetString(1))
            : ChainHead.Empty;
    }

    /// <summary>recorded_at (microseconds) of the newest <paramref name="count"/> 403 events, oldest first.</summary>
    public async Task<long[]> GetNewestForbiddenAsync(string projectId, string region, int count, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
        await using var command = Command(connection, null,
            "SELECT recorded_at FROM audit_events WHERE project_id = @p AND region = @r AND status_code = 403 ORDER BY recorded_at DESC LIMIT @n",
            ("@p", projectId), ("@r", region), ("@n", count));
        var times = new List<long>(count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            times.Add(reader.GetInt64(0));
        }

        times.Reverse();
        return [.. times];
    }

    /// <summary>
    /// Silo clock (ingested_at) of the newest stored 403 whose recorded_at is at or after
    /// <paramref name="fromMicros"/>, or null: when the detector last saw a 403 that counts in its window.
    /// </summary>
    public async Task<DateTimeOffset?> GetLastForbiddenIngestedAsync(string projectId, string region, long fromMicros, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
        await using var command = Command(connection, null,
            "SELECT MAX(ingested_at) FROM audit_events WHERE project_id = @p AND region = @r AND status_code = 403 AND recorded_at >= @from",
            ("@p", projectId), ("@r", region), ("@from", fromMicros));
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : DbTime.FromMicros(Convert.ToInt64(value, CultureInfo.InvariantCulture));
    }

    /// <summary>The open episode of <paramref name="alert"/> in a project-region, if any (docs/alerts.md, Episodes).</summary>
    public async Task<StoredEpisode?> GetOpenEpisodeAsync(string projectId, string region, AlertName alert, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
        return await EpisodeRows.GetOpenAsync(connection, projectId, region, alert, cancellationToken);
    }

    /// <summary>recorded_at of the last 403 of the latest resolved episode of <paramref name="alert"/> in a project-region, or null.</summary>
    public async Task<DateTimeOffset?> GetLastEpisodeEndAsync(string projectId, string region, AlertName alert, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
        return await EpisodeRows.GetLastEndAsync(connection, projectId, region, alert, cancellationToken);
    }

    /// <summary>Every project-region with an open episode.</summary>
    public async Task<IReadOnlyList<(string ProjectId, string Region)>> GetOpenEpisodesAsync(CancellationToken cancellationToken = default)
    {
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
        return await EpisodeRows.ListOpenAsync(connection, cancellationToken);
    }

    /// <summary>
    /// The 403 events stored after log position <paramref name="afterSequence"/> with recorded_at at
    /// or after <paramref name="fromMicros"/>: their number and the <paramref name="top"/> most
    /// frequent principals and source IPs (most frequent first, then by value).
    /// </summary>
    public async Task<ForbiddenActivity> GetForbiddenActivityAsync(string projectId, string region, long afterSequence, long fromMicros, int top, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
        var where = "WHERE project_id = @p AND region = @r AND status_code = 403 AND seq > @s AND recorded_at >= @from";
        (string, object?)[] args = [("@p", projectId), ("@r", region), ("@s", afterSequence), ("@from", fromMicros)];
        long count;
        await using (var c = Command(connection, null, $"SELECT COUNT(*) FROM audit_events {where}", args))
        {
            count = Convert.ToInt64(await c.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        return count == 0
            ? new ForbiddenActivity(0, [], [])
            : new ForbiddenActivity(
                count,
                await TopAsync(connection, null, "principal_id", Anonymous, where, args, top, cancellationToken),
                await TopAsync(connection, null, "source_ip", UnknownIp, where, args, top, cancellationToken));
    }

    /// <summary>Which of <paramref name="eventIds"/> the project's log already holds.</summary>
    public async Task<HashSet<string>> FindExistingAsync(string projectId, IReadOnlyCollection<string> eventIds, CancellationToken cancellationToken = default)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (eventIds.Count == 0)
        {
            return found;
        }

        await using var lease = await database.RentReaderAsync(cancellationToken);
        foreach (var chunk in eventIds.Chunk(500))
        {
            await using var command = lease.Connection.CreateCommand();
            var names = new StringBuilder();
            for (var i = 0; i < chunk.Length; i++)
            {
                names.Append(i == 0 ? "@i0" : $", @i{i}");
                AddParameter(command, $"@i{i}", chunk[i]);
            }

            AddParameter(command, "@p", projectId);
            command.CommandText = $"SELECT event_id FROM audit_events WHERE project_id = @p AND event_id IN ({names})";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                found.Add(reader.GetString(0));
            }
        }

        return found;
    }

    /// <summary>
    /// Appends records and records firings in one transaction. Returns the firings as stored
    /// (with the facts read from the log and their recipients).
    /// </summary>
    /// <exception cref="DuplicateEventException">An event id was stored concurrently by another region of the project; nothing was written.</exception>
    public async Task<IReadOnlyList<FiredAlert>> AppendAsync(
        string projectId, string region, IReadOnlyList<NewRecord> records, IReadOnlyList<PendingFiring> firings, CancellationToken cancellationToken = default)
    {
        try
        {
            return await database.WriteAsync(async (connection, transaction) =>
            {
                await InsertRecordsAsync(connection, transaction, projectId, region, records, cancellationToken);
                return await RecordFiringsAsync(connection, transaction, firings, cancellationToken);
            }, firings.Count > 0 ? WritePriority.Alert : WritePriority.Normal, cancellationToken);
        }
        catch (DbException ex) when (IsUniqueViolation(ex))
        {
            throw new DuplicateEventException("An event id of the batch was stored concurrently; retry the batch.", ex);
        }
    }

    /// <summary>
    /// Records firings that no new event caused (an episode's resolved notice or held-back update,
    /// decided on the silo's clock), in one transaction; returns them as stored.
    /// </summary>
    public Task<IReadOnlyList<FiredAlert>> RecordFiringsAsync(IReadOnlyList<PendingFiring> firings, CancellationToken cancellationToken = default) =>
        database.WriteAsync((connection, transaction) => RecordFiringsAsync(connection, transaction, firings, cancellationToken), WritePriority.Alert, cancellationToken);

    /// <summary>
    /// Each firing with its facts counted from the log (HttpForbiddenErrorRateHigh), its deliveries,
    /// and what it does to its episode.
    /// </summary>
    private async Task<IReadOnlyList<FiredAlert>> RecordFiringsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<PendingFiring> firings, CancellationToken cancellationToken)
    {
        var stored = new List<FiredAlert>(firings.Count);
        foreach (var firing in firings)
        {
            var alert = firing.Alert.Alert == AlertName.HttpForbiddenErrorRateHigh
                ? firing.Alert with { Facts = await ForbiddenFactsAsync(connection, transaction, firing, cancellationToken) }
                : firing.Alert;
            var recorded = await outbox.InsertFiringAsync(connection, transaction, alert, cancellationToken);
            await EpisodeRows.ApplyAsync(connection, transaction, recorded, firing.AtSequence, cancellationToken);
            stored.Add(recorded);
        }

        return stored;
    }

    private const string InsertEventSql =
        "INSERT INTO audit_events (project_id, region, seq, event_id, recorded_at, ingested_at, principal_id, source_ip, product_name, method_name, status_code, payload, prev_hash, hash, kind) " +
        "VALUES (@p, @r, @s, @id, @at, @in, @pr, @ip, @prod, @m, @st, @pl, @ph, @h, @k)";

    private const string InsertResourceSql =
        "INSERT INTO audit_event_resources (project_id, resource_id, region, seq) VALUES (@p, @x, @r, @s) ON CONFLICT DO NOTHING";

    private static async Task InsertRecordsAsync(
        DbConnection connection, DbTransaction transaction, string projectId, string region, IReadOnlyList<NewRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0)
        {
            return;
        }

        if (connection.CanCreateBatch)
        {
            await InsertBatchedAsync(connection, transaction, projectId, region, records, cancellationToken);
            return;
        }

        await using var insert = Command(connection, transaction, InsertEventSql);
        var p = new Dictionary<string, DbParameter>(StringComparer.Ordinal);
        foreach (var name in new[] { "@p", "@r", "@s", "@id", "@at", "@in", "@pr", "@ip", "@prod", "@m", "@st", "@pl", "@ph", "@h", "@k" })
        {
            p[name] = AddParameter(insert, name, null);
        }

        p["@p"].Value = projectId;
        p["@r"].Value = region;
        DbCommand? resourceInsert = null;
        try
        {
            foreach (var record in records)
            {
                var e = record.Event;
                p["@s"].Value = record.Sequence;
                p["@id"].Value = e.Id!;
                p["@at"].Value = DbTime.ToMicros(e.RecordedAt!.Value);
                p["@in"].Value = DbTime.ToMicros(record.IngestedAt);
                p["@pr"].Value = (object?)e.PrincipalId ?? DBNull.Value;
                p["@ip"].Value = (object?)e.SourceIp ?? DBNull.Value;
                p["@prod"].Value = (object?)e.ProductName ?? DBNull.Value;
                p["@m"].Value = (object?)e.MethodName ?? DBNull.Value;
                p["@st"].Value = e.StatusCode ?? 0;
                p["@k"].Value = EventKinds.ToColumn(e.Kind);
                p["@pl"].Value = record.Payload;
                p["@ph"].Value = record.PreviousHash;
                p["@h"].Value = record.Hash;
                await insert.ExecuteNonQueryAsync(cancellationToken);

                foreach (var resourceId in (e.Resources ?? []).Select(static r => r.Id).Where(static id => !string.IsNullOrEmpty(id)).Distinct(StringComparer.Ordinal))
                {
                    resourceInsert ??= Command(connection, transaction, InsertResourceSql, ("@p", projectId), ("@x", null), ("@r", region), ("@s", null));
                    resourceInsert.Parameters["@x"].Value = resourceId!;
                    resourceInsert.Parameters["@s"].Value = record.Sequence;
                    await resourceInsert.ExecuteNonQueryAsync(cancellationToken);
                }
            }
        }
        finally
        {
            if (resourceInsert is not null)
            {
                await resourceInsert.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// The same inserts sent as one batch (PostgreSQL: one round trip for the whole append instead
    /// of one per row, which left the engine at a third of a plain batched insert; README,
    /// Performance). SQLite runs in process and has no batches: it takes the loop above.
    /// </summary>
    private static async Task InsertBatchedAsync(
        DbConnection connection, DbTransaction transaction, string projectId, string region, IReadOnlyList<NewRecord> records, CancellationToken cancellationToken)
    {
        // Bounded so that one statement batch stays far below the server's message limits.
        const int maxCommands = 2000;
        var batch = connection.CreateBatch();
        try
        {
            batch.Transaction = transaction;
            foreach (var record in records)
            {
                var e = record.Event;
                Add(batch, InsertEventSql,
                    ("@p", projectId), ("@r", region), ("@s", record.Sequence), ("@id", e.Id!), ("@at", DbTime.ToMicros(e.RecordedAt!.Value)),
                    ("@in", DbTime.ToMicros(record.IngestedAt)), ("@pr", e.PrincipalId), ("@ip", e.SourceIp), ("@prod", e.ProductName), ("@m", e.MethodName),
                    ("@st", e.StatusCode ?? 0), ("@pl", record.Payload), ("@ph", record.PreviousHash), ("@h", record.Hash), ("@k", EventKinds.ToColumn(e.Kind)));
                foreach (var resourceId in (e.Resources ?? []).Select(static r => r.Id).Where(static id => !string.IsNullOrEmpty(id)).Distinct(StringComparer.Ordinal))
                {
                    Add(batch, InsertResourceSql, ("@p", projectId), ("@x", resourceId), ("@r", region), ("@s", record.Sequence));
                }

                if (batch.BatchCommands.Count >= maxCommands)
                {
                    await batch.ExecuteNonQueryAsync(cancellationToken);
                    await batch.DisposeAsync();
                    batch = connection.CreateBatch();
                    batch.Transaction = transaction;
                }
            }

            if (batch.BatchCommands.Count > 0)
            {
                await batch.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        finally
        {
            await batch.DisposeAsync();
        }

        static void Add(DbBatch batch, string sql, params (string Name, object? Value)[] parameters)
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                parameter.Value = value ?? DBNull.Value;
                command.Parameters.Add(parameter);
            }

            batch.BatchCommands.Add(command);
        }
    }

    /// <summary>
    /// The facts of a HttpForbiddenErrorRateHigh entry, counted in the transaction over its time
    /// frame (the window of a firing, the episode so far for an update or a resolved notice) up to
    /// the log position it was decided at.
    /// </summary>
    private static async Task<AlertFacts> ForbiddenFactsAsync(DbConnection connection, DbTransaction transaction, PendingFiring firing, CancellationToken cancellationToken)
    {
        var a = firing.Alert;
        var where = "WHERE project_id = @p AND region = @r AND status_code = 403 AND recorded_at >= @from AND recorded_at <= @to AND seq <= @s";
        (string, object?)[] args =
        [
            ("@p", a.ProjectId), ("@r", a.Region), ("@from", DbTime.ToMicros(a.WindowStart)), ("@to", DbTime.ToMicros(a.WindowEnd)), ("@s", firing.AtSequence),
        ];

        int count;
        DateTimeOffset? first;
        await using (var c = Command(connection, transaction, $"SELECT COUNT(*), MIN(recorded_at) FROM audit_events {where}", args))
        await using (var reader = await c.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            count = Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture);
            first = reader.IsDBNull(1) ? null : DbTime.FromMicros(Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture));
        }

        return a.Facts with
        {
            ForbiddenCount = count,
            TopPrincipals = await TopAsync(connection, transaction, "principal_id", Anonymous, where, args, TopCount, cancellationToken),
            TopSourceIps = await TopAsync(connection, transaction, "source_ip", UnknownIp, where, args, TopCount, cancellationToken),
            FirstEventTime = a.Kind == AlertKind.Firing ? null : first,
        };
    }

    private static async Task<IReadOnlyList<CountedValue>> TopAsync(
        DbConnection connection, DbTransaction? transaction, string column, string missing, string where, (string, object?)[] args, int top, CancellationToken cancellationToken)
    {
        var values = new List<CountedValue>(top);
        await using var c = Command(connection, transaction,
            $"SELECT COALESCE({column}, '{missing}') AS v, COUNT(*) AS n FROM audit_events {where} GROUP BY COALESCE({column}, '{missing}') ORDER BY n DESC, v LIMIT {top}", args);
        await using var reader = await c.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            values.Add(new CountedValue(reader.GetString(0), Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture)));
        }

        return values;
    }
}
