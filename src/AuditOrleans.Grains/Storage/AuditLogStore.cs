using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AuditOrleans.Grains.Storage;

/// <summary>Head of a project-region's hash chain.</summary>
public sealed record ChainHead(long Sequence, string Hash)
{
    public static ChainHead Empty { get; } = new(0, HashChain.Genesis);
}

/// <summary>A validated event ready to be appended at a position of the chain.</summary>
public sealed record NewRecord(AuditEvent Event, long Sequence, string Payload, string PreviousHash, string Hash, DateTimeOffset IngestedAt);

/// <summary>A firing decided by the detector, recorded in the same transaction as the events that caused it.</summary>
/// <param name="Alert">The firing; for HttpForbiddenErrorRateHigh its count, top principals and source IPs are filled in from the log.</param>
/// <param name="AtSequence">The sequence of the event that made the condition true.</param>
public sealed record PendingFiring(FiredAlert Alert, long AtSequence);

/// <summary>
/// The audit log over ADO.NET (SQLite or PostgreSQL): batched appends with the hash chain,
/// idempotency by event id, indexed queries, verification and retention.
/// </summary>
public sealed class AuditLogStore(AuditDatabase database, NotificationStore notifications)
{
    /// <summary>How many principals and source IPs an alert lists.</summary>
    public const int TopCount = 5;

    private static readonly long WindowMicros = (long)AlertCatalog.ForbiddenWindow.TotalMicroseconds;

    public async Task<ChainHead> GetHeadAsync(string projectId, string region, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
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
        await using var connection = await database.OpenAsync(cancellationToken);
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

    /// <summary>End of the window of the last firing of <paramref name="alert"/> in a project-region, if any.</summary>
    public async Task<DateTimeOffset?> GetLastFiringWindowEndAsync(string projectId, string region, AlertName alert, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT MAX(window_end) FROM fired_alerts WHERE project_id = @p AND region = @r AND alert = @a AND is_test = 0",
            ("@p", projectId), ("@r", region), ("@a", alert.ToString()));
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : DbTime.FromMicros(Convert.ToInt64(value, CultureInfo.InvariantCulture));
    }

    /// <summary>Which of <paramref name="eventIds"/> the project's log already holds.</summary>
    public async Task<HashSet<string>> FindExistingAsync(string projectId, IReadOnlyCollection<string> eventIds, CancellationToken cancellationToken = default)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (eventIds.Count == 0)
        {
            return found;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        foreach (var chunk in eventIds.Chunk(500))
        {
            await using var command = connection.CreateCommand();
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
                var stored = new List<FiredAlert>(firings.Count);
                foreach (var firing in firings)
                {
                    var alert = firing.Alert.Alert == AlertName.HttpForbiddenErrorRateHigh
                        ? firing.Alert with { Facts = await ForbiddenFactsAsync(connection, transaction, firing, cancellationToken) }
                        : firing.Alert;
                    stored.Add(await notifications.InsertFiringAsync(connection, transaction, alert, cancellationToken));
                }

                return (IReadOnlyList<FiredAlert>)stored;
            }, cancellationToken);
        }
        catch (DbException ex) when (IsUniqueViolation(ex))
        {
            throw new DuplicateEventException("An event id of the batch was stored concurrently; retry the batch.", ex);
        }
    }

    /// <summary>
    /// Most characters of stored JSON in one page: a page of large events ends early (with a
    /// continuation token) so that an answer stays far below Orleans' message size limit.
    /// </summary>
    public const int MaxPageChars = 8 * 1024 * 1024;

    /// <summary>One page of events matching a query (at most <see cref="AuditQuery.PageSize"/> events and <see cref="MaxPageChars"/> of JSON).</summary>
    public async Task<AuditPage> QueryAsync(AuditQuery query, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var pageSize = Math.Clamp(query.PageSize, 1, 1000);
        var token = query.ContinuationToken is null ? null : PageToken.Parse(query.ContinuationToken);
        var after = token?.After ?? DbTime.ToMicros(query.RecordedAfter ?? now.AddHours(-1));
        var before = token?.Before ?? DbTime.ToMicros(query.RecordedBefore ?? now);
        var newestFirst = query.Order == SortOrder.NewestFirst;

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT e.project_id, e.region, e.seq, e.payload, e.ingested_at, e.hash, e.recorded_at FROM audit_events e");
        if (query.ResourceId is not null)
        {
            sql.Append(" JOIN audit_event_resources x ON x.project_id = e.project_id AND x.region = e.region AND x.seq = e.seq AND x.resource_id = @resource");
            AddParameter(command, "@resource", query.ResourceId);
        }

        sql.Append(" WHERE e.project_id = @p AND e.recorded_at >= @after AND e.recorded_at <= @before");
        AddParameter(command, "@p", query.ProjectId);
        AddParameter(command, "@after", after);
        AddParameter(command, "@before", before);
        Filter(command, sql, "e.region", "@region", query.Region);
        Filter(command, sql, "e.principal_id", "@principal", query.PrincipalId);
        Filter(command, sql, "e.source_ip", "@ip", query.SourceIp);
        Filter(command, sql, "e.method_name", "@method", query.MethodName);
        Filter(command, sql, "e.product_name", "@product", query.ProductName);
        if (query.StatusCode is { } status)
        {
            sql.Append(" AND e.status_code = @status");
            AddParameter(command, "@status", status);
        }

        if (token is not null)
        {
            sql.Append(newestFirst
                ? " AND (e.recorded_at < @ta OR (e.recorded_at = @ta AND (e.region < @tr OR (e.region = @tr AND e.seq < @ts))))"
                : " AND (e.recorded_at > @ta OR (e.recorded_at = @ta AND (e.region > @tr OR (e.region = @tr AND e.seq > @ts))))");
            AddParameter(command, "@ta", token.RecordedAt);
            AddParameter(command, "@tr", token.Region);
            AddParameter(command, "@ts", token.Sequence);
        }

        var direction = newestFirst ? "DESC" : "ASC";
        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY e.recorded_at {direction}, e.region {direction}, e.seq {direction} LIMIT @limit");
        AddParameter(command, "@limit", pageSize + 1);
        command.CommandText = sql.ToString();

        var records = new List<AuditRecord>(pageSize);
        string? next = null;
        long chars = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var payload = reader.GetString(3);
            if (records.Count == pageSize || (records.Count > 0 && chars + payload.Length > MaxPageChars))
            {
                var last = records[^1];
                next = new PageToken(after, before, DbTime.ToMicros(last.Event.RecordedAt!.Value), last.Region, last.Sequence).Format();
                break;
            }

            chars += payload.Length;
            records.Add(new AuditRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetInt64(2),
                AuditEventJson.Parse(payload),
                DbTime.FromMicros(reader.GetInt64(4)),
                reader.GetString(5)));
        }

        return new AuditPage(records, next);
    }

    /// <summary>How far in the future a retention anchor's purge time may be (clock differences between silos).</summary>
    public static readonly TimeSpan MaxAnchorClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>Walks a project-region's chain from its retention anchor and reports the first break.</summary>
    /// <param name="projectId">Project of the chain.</param>
    /// <param name="region">Region of the chain.</param>
    /// <param name="signer">The installation's checkpoint key: a stored checkpoint or retention anchor it did not sign breaks the report.</param>
    /// <param name="retentionDays">Retention:Days in force (0: events are kept forever); an anchor that cut younger events is a finding.</param>
    /// <param name="now">The current time; an anchor purged in the future is a finding.</param>
    /// <param name="trusted">Checkpoints the caller kept outside the database; each must match.</param>
    /// <param name="cancellationToken">Cancels the walk.</param>
    public async Task<IntegrityReport> VerifyAsync(
        string projectId,
        string region,
        CheckpointSigner signer,
        int retentionDays,
        DateTimeOffset now,
        IReadOnlyList<ChainCheckpoint>? trusted = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signer);
        await using var connection = await database.OpenAsync(cancellationToken);
        var anchor = await ReadAnchorAsync(connection, projectId, region, cancellationToken);
        var expected = anchor is null ? ChainHead.Empty : new ChainHead(anchor.Sequence, anchor.Hash);
        IntegrityReport Tag(IntegrityReport report) => anchor is null
            ? report
            : report with { PurgedThroughSequence = anchor.Sequence, PurgedAt = DbTime.FromMicros(anchor.PurgedAt) };

        if (anchor is not null && AnchorFinding(projectId, region, anchor, signer, retentionDays, now) is { } finding)
        {
            // Nothing before the first event can be trusted: the report names the anchor, and no head.
            return Tag(new IntegrityReport(projectId, region, false, 0, anchor.Sequence, null, finding, null, 0));
        }

        var checkpoints = new SortedDictionary<long, string>();
        await using (var cp = Command(connection, null,
            "SELECT seq, hash, created_at, signature FROM audit_checkpoints WHERE project_id = @p AND region = @r AND seq > @s ORDER BY seq",
            ("@p", projectId), ("@r", region), ("@s", expected.Sequence)))
        await using (var cpReader = await cp.ExecuteReaderAsync(cancellationToken))
        {
            while (await cpReader.ReadAsync(cancellationToken))
            {
                var (seq, hash) = (cpReader.GetInt64(0), cpReader.GetString(1));
                if (!signer.Verify(CheckpointText(projectId, region, seq, hash, cpReader.GetInt64(2)), cpReader.GetString(3)))
                {
                    return Tag(new IntegrityReport(projectId, region, false, 0, seq, null,
                        $"The checkpoint stored for position {seq} is not signed by this installation's checkpoint key: checkpoints were forged.",
                        expected.Hash, expected.Sequence));
                }

                checkpoints[seq] = hash;
            }
        }

        foreach (var kept in trusted ?? [])
        {
            if (kept.ProjectId != projectId || kept.Region != region)
            {
                throw new ArgumentException($"The checkpoint for {kept.ProjectId}/{kept.Region} does not belong to {projectId}/{region}.");
            }

            if (anchor is not null && kept.Sequence == anchor.Sequence)
            {
                if (!string.Equals(kept.Hash, anchor.Hash, StringComparison.Ordinal))
                {
                    return Tag(new IntegrityReport(projectId, region, false, 0, kept.Sequence, null,
                        $"The checkpoint you kept for position {kept.Sequence} does not match the retention anchor there: the chain was rewritten before it was cut.",
                        null, 0));
                }

                continue;
            }

            if (kept.Sequence < expected.Sequence)
            {
                continue; // purged by retention: the signed anchor, checked above, accounts for it
            }

            if (checkpoints.TryGetValue(kept.Sequence, out var stored) && stored != kept.Hash)
            {
                return Tag(new IntegrityReport(projectId, region, false, 0, kept.Sequence, null,
                    $"The checkpoint you kept for position {kept.Sequence} does not match the one stored: the chain was rewritten.",
                    expected.Hash, expected.Sequence));
            }

            checkpoints[kept.Sequence] = kept.Hash;
        }

        await using var command = Command(connection, null,
            "SELECT seq, event_id, recorded_at, principal_id, source_ip, product_name, method_name, status_code, payload, prev_hash, hash " +
            "FROM audit_events WHERE project_id = @p AND region = @r ORDER BY seq",
            ("@p", projectId), ("@r", region));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        long checkedCount = 0;
        IntegrityReport Broken(long seq, string? eventId, string reason) =>
            Tag(new(projectId, region, false, checkedCount, seq, eventId, reason, expected.Hash, expected.Sequence));

        while (await reader.ReadAsync(cancellationToken))
        {
            var seq = reader.GetInt64(0);
            var eventId = reader.GetString(1);
            if (seq != expected.Sequence + 1)
            {
                return Broken(seq, eventId, seq > expected.Sequence + 1
                    ? $"Events {expected.Sequence + 1}..{seq - 1} are missing before this one: they were deleted."
                    : $"Sequence {seq} is out of order after {expected.Sequence}.");
            }

            var payload = reader.GetString(8);
            if (!string.Equals(reader.GetString(9), expected.Hash, StringComparison.Ordinal))
            {
                return Broken(seq, eventId, "Its prev_hash is not the hash of the event before it: the chain was cut or reordered here.");
            }

            var hash = HashChain.Compute(projectId, region, seq, expected.Hash, payload);
            if (!string.Equals(hash, reader.GetString(10), StringComparison.Ordinal))
            {
                return Broken(seq, eventId, "Its content does not match its hash: the event was edited, or events were swapped.");
            }

            var mismatch = IndexedColumnMismatch(reader, payload);
            if (mismatch is not null)
            {
                return Broken(seq, eventId, $"Column {mismatch} differs from the hashed content: the row was edited.");
            }

            if (checkpoints.TryGetValue(seq, out var published) && !string.Equals(published, hash, StringComparison.Ordinal))
            {
                return Broken(seq, eventId, "The hash differs from the checkpoint published for this position: the chain was rewritten.");
            }

            expected = new ChainHead(seq, hash);
            checkedCount++;
        }

        if (checkpoints.Count > 0 && checkpoints.Keys.Max() > expected.Sequence)
        {
            var missing = checkpoints.Keys.Max();
            return Tag(new IntegrityReport(projectId, region, false, checkedCount, expected.Sequence + 1, null,
                $"A checkpoint was published at position {missing} but the log ends at {expected.Sequence}: the newest events were deleted.",
                expected.Hash, expected.Sequence));
        }

        return Tag(new IntegrityReport(projectId, region, true, checkedCount, null, null, null, expected.Hash, expected.Sequence));
    }

    /// <summary>
    /// Records the current head of every chain that moved since its last checkpoint. The
    /// signature is an HMAC of the checkpoint with the silo's checkpoint key.
    /// </summary>
    public async Task<IReadOnlyList<ChainCheckpoint>> WriteCheckpointsAsync(Func<string, string> sign, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        await database.WriteAsync(async (connection, transaction) =>
        {
            var heads = new List<(string Project, string Region, long Seq, string Hash)>();
            await using (var command = Command(connection, transaction,
                "SELECT e.project_id, e.region, e.seq, e.hash FROM audit_events e " +
                "JOIN (SELECT project_id, region, MAX(seq) AS seq FROM audit_events GROUP BY project_id, region) h " +
                "ON h.project_id = e.project_id AND h.region = e.region AND h.seq = e.seq " +
                "WHERE NOT EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.project_id = e.project_id AND c.region = e.region AND c.seq = e.seq)"))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    heads.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3)));
                }
            }

            var at = DbTime.ToMicros(now);
            var written = new List<ChainCheckpoint>(heads.Count);
            foreach (var (project, region, seq, hash) in heads)
            {
                var signature = sign(CheckpointText(project, region, seq, hash, at));
                written.Add(new ChainCheckpoint(project, region, seq, hash, DbTime.FromMicros(at), signature));
                await using var insert = Command(connection, transaction,
                    "INSERT INTO audit_checkpoints (project_id, region, seq, hash, created_at, signature) VALUES (@p, @r, @s, @h, @t, @g) ON CONFLICT DO NOTHING",
                    ("@p", project), ("@r", region), ("@s", seq), ("@h", hash), ("@t", at), ("@g", signature));
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            return (IReadOnlyList<ChainCheckpoint>)written;
        }, cancellationToken);

    /// <summary>The newest checkpoints of a chain, newest first.</summary>
    public async Task<IReadOnlyList<ChainCheckpoint>> GetCheckpointsAsync(string projectId, string region, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT seq, hash, created_at, signature FROM audit_checkpoints WHERE project_id = @p AND region = @r ORDER BY seq DESC LIMIT @n",
            ("@p", projectId), ("@r", region), ("@n", Math.Clamp(limit, 1, 10_000)));
        var list = new List<ChainCheckpoint>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new ChainCheckpoint(projectId, region, reader.GetInt64(0), reader.GetString(1), DbTime.FromMicros(reader.GetInt64(2)), reader.GetString(3)));
        }

        return list;
    }

    /// <summary>The text a checkpoint signature covers.</summary>
    public static string CheckpointText(string projectId, string region, long sequence, string hash, long createdAtMicros) =>
        string.Create(CultureInfo.InvariantCulture, $"{projectId}\n{region}\n{sequence}\n{hash}\n{createdAtMicros}");

    /// <summary>The text a retention anchor's signature covers: the chain, the cut, when and under which retention it was made.</summary>
    public static string AnchorText(string projectId, string region, long sequence, string hash, long purgedAtMicros, int retentionDays, long provenAtMicros) =>
        string.Create(CultureInfo.InvariantCulture, $"anchor-v1\n{projectId}\n{region}\n{sequence}\n{hash}\n{purgedAtMicros}\n{retentionDays}\n{provenAtMicros}");

    /// <summary>
    /// Deletes, per chain, the events older than <paramref name="retentionDays"/> days and
    /// records a signed retention anchor where the chain was cut so that the rest stays
    /// verifiable. Returns the number of events deleted.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The age of events is not taken from the database (ingested_at is not covered by the
    /// hash chain, so whoever can write the database could make young events look old and have
    /// the silo purge and sign them). A chain is cut at the newest stored checkpoint that was
    /// created before the cutoff and is signed with the checkpoint key: that signature proves
    /// the chain had reached that position by then, so every event up to it is older than the
    /// retention. Checkpoints are taken every minute for every chain that moved, so retention
    /// counts from ingestion to within a minute. A replayed export of old events is kept for the
    /// full retention period after it was sent, and what expires is always a prefix of the chain.
    /// </para>
    /// <para>
    /// The anchor is signed with a key derived from the checkpoint key, binding the chain,
    /// the position and hash of the cut, the purge time, the retention in force and the time of
    /// the checkpoint that proved the age (see <see cref="AnchorText"/>).
    /// </para>
    /// </remarks>
    public async Task<int> PurgeAsync(int retentionDays, DateTimeOffset now, CheckpointSigner signer, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retentionDays, 1);
        ArgumentNullException.ThrowIfNull(signer);
        var cutoff = DbTime.ToMicros(now.AddDays(-retentionDays));
        var purgedAt = DbTime.ToMicros(now);
        return await database.WriteAsync(async (connection, transaction) =>
        {
            // Candidate cuts, newest first per chain: signed checkpoints older than the cutoff,
            // past the chain's anchor, at an event still stored with the hash they recorded.
            var cuts = new List<(string Project, string Region, long Seq, string Hash, long ProvenAt)>();
            await using (var command = Command(connection, transaction,
                "SELECT c.project_id, c.region, c.seq, c.hash, c.created_at, c.signature FROM audit_checkpoints c " +
                "JOIN audit_events e ON e.project_id = c.project_id AND e.region = c.region AND e.seq = c.seq AND e.hash = c.hash " +
                "LEFT JOIN audit_chain_anchors a ON a.project_id = c.project_id AND a.region = c.region " +
                "WHERE c.created_at < @cut AND (a.seq IS NULL OR c.seq > a.seq) " +
                "ORDER BY c.project_id, c.region, c.seq DESC",
                ("@cut", cutoff)))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    var (project, region, seq, hash, createdAt) = (reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetInt64(4));
                    if (cuts.Count > 0 && cuts[^1].Project == project && cuts[^1].Region == region)
                    {
                        continue; // this chain's cut is already chosen
                    }

                    // A checkpoint row the key did not sign proves nothing: try the next older one.
                    if (signer.Verify(CheckpointText(project, region, seq, hash, createdAt), reader.GetString(5)))
                    {
                        cuts.Add((project, region, seq, hash, createdAt));
                    }
                }
            }

            var deleted = 0;
            foreach (var (project, region, seq, hash, provenAt) in cuts)
            {
                var signature = signer.SignAnchor(AnchorText(project, region, seq, hash, purgedAt, retentionDays, provenAt));
                await using (var anchor = Command(connection, transaction,
                    "INSERT INTO audit_chain_anchors (project_id, region, seq, hash, purged_at, retention_days, proven_at, signature) " +
                    "VALUES (@p, @r, @s, @h, @t, @d, @v, @g) " +
                    "ON CONFLICT (project_id, region) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, purged_at = excluded.purged_at, " +
                    "retention_days = excluded.retention_days, proven_at = excluded.proven_at, signature = excluded.signature " +
                    "WHERE audit_chain_anchors.seq < excluded.seq",
                    ("@p", project), ("@r", region), ("@s", seq), ("@h", hash), ("@t", purgedAt), ("@d", retentionDays), ("@v", provenAt), ("@g", signature)))
                {
                    if (await anchor.ExecuteNonQueryAsync(cancellationToken) == 0)
                    {
                        continue; // another silo moved the anchor further meanwhile
                    }
                }

                foreach (var table in new[] { "audit_event_resources", "audit_events", "audit_checkpoints" })
                {
                    await using var delete = Command(connection, transaction,
                        $"DELETE FROM {table} WHERE project_id = @p AND region = @r AND seq <= @s", ("@p", project), ("@r", region), ("@s", seq));
                    var n = await delete.ExecuteNonQueryAsync(cancellationToken);
                    if (table == "audit_events")
                    {
                        deleted += n;
                    }
                }
            }

            return deleted;
        }, cancellationToken);
    }

    /// <summary>
    /// Why a chain's retention anchor cannot be trusted, or null: unsigned, signed with another
    /// key or for other values (forged, edited, or copied from another chain or position),
    /// purged in the future, or cutting events younger than the retention.
    /// </summary>
    private static string? AnchorFinding(string projectId, string region, StoredAnchor anchor, CheckpointSigner signer, int retentionDays, DateTimeOffset now)
    {
        var what = string.Create(CultureInfo.InvariantCulture,
            $"The retention anchor at position {anchor.Sequence} (it says events 1..{anchor.Sequence} were purged by retention on {AuditEventJson.FormatTime(DbTime.FromMicros(anchor.PurgedAt))})");
        if (anchor.Signature is null || anchor.RetentionDays is null || anchor.ProvenAt is null)
        {
            return $"{what} is not signed: it was written by a version of AuditOrleans before retention anchors were signed, or inserted by someone without the checkpoint key. " +
                "Nothing shows that these events were purged by retention rather than deleted. A legitimate old anchor is replaced by a signed one at this chain's next retention purge.";
        }

        var (days, provenAt) = (anchor.RetentionDays.Value, anchor.ProvenAt.Value);
        if (!signer.VerifyAnchor(AnchorText(projectId, region, anchor.Sequence, anchor.Hash, anchor.PurgedAt, days, provenAt), anchor.Signature))
        {
            return $"{what} is forged: its signature does not match this installation's checkpoint key for this chain, position and values " +
                "(it was inserted or edited in the database, or copied from another chain or position). The events before it were deleted, not purged by retention.";
        }

        var purgedAt = DbTime.FromMicros(anchor.PurgedAt);
        if (purgedAt > now + MaxAnchorClockSkew)
        {
            return $"{what} was made in the future (now is {AuditEventJson.FormatTime(now)}): the clock of the silo that purged was wrong, or the anchor was made with the checkpoint key outside this installation.";
        }

        var proven = DbTime.FromMicros(provenAt);
        if (proven > purgedAt.AddDays(-Math.Max(days, retentionDays)))
        {
            var age = (purgedAt - proven).TotalDays;
            return string.Create(CultureInfo.InvariantCulture,
                $"{what} cut events that were only {age:0.#} days old at the time (the chain had reached position {anchor.Sequence} on {AuditEventJson.FormatTime(proven)}), ") +
                string.Create(CultureInfo.InvariantCulture,
                $"while Retention:Days is {retentionDays} (the purge ran with {days}): events younger than the retention are missing. If Retention:Days was raised after that purge, this clears when a later purge moves the anchor past it.");
        }

        return null;
    }

    private static async Task<StoredAnchor?> ReadAnchorAsync(DbConnection connection, string projectId, string region, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null,
            "SELECT seq, hash, purged_at, retention_days, proven_at, signature FROM audit_chain_anchors WHERE project_id = @p AND region = @r",
            ("@p", projectId), ("@r", region));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new StoredAnchor(
            reader.GetInt64(0),
            reader.GetString(1),
            reader.GetInt64(2),
            reader.IsDBNull(3) ? null : Convert.ToInt32(reader.GetValue(3), CultureInfo.InvariantCulture),
            reader.IsDBNull(4) ? null : reader.GetInt64(4),
            reader.IsDBNull(5) ? null : reader.GetString(5));
    }

    /// <summary>A command with its SQL and named parameters (null values sent as NULL), for every store over <see cref="AuditDatabase"/>.</summary>
    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            AddParameter(command, name, value);
        }

        return command;
    }

    internal static DbParameter AddParameter(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return parameter;
    }

    internal static bool IsUniqueViolation(DbException ex) =>
        ex.SqlState == "23505" // PostgreSQL unique_violation
        || (ex is Microsoft.Data.Sqlite.SqliteException sqlite && sqlite.SqliteErrorCode == 19 && sqlite.SqliteExtendedErrorCode is 2067 or 1555);

    private static void Filter(DbCommand command, StringBuilder sql, string column, string name, string? value)
    {
        if (value is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {column} = {name}");
            AddParameter(command, name, value);
        }
    }

    private static async Task InsertRecordsAsync(
        DbConnection connection, DbTransaction transaction, string projectId, string region, IReadOnlyList<NewRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0)
        {
            return;
        }

        await using var insert = Command(connection, transaction,
            "INSERT INTO audit_events (project_id, region, seq, event_id, recorded_at, ingested_at, principal_id, source_ip, product_name, method_name, status_code, payload, prev_hash, hash) " +
            "VALUES (@p, @r, @s, @id, @at, @in, @pr, @ip, @prod, @m, @st, @pl, @ph, @h)");
        var p = new Dictionary<string, DbParameter>(StringComparer.Ordinal);
        foreach (var name in new[] { "@p", "@r", "@s", "@id", "@at", "@in", "@pr", "@ip", "@prod", "@m", "@st", "@pl", "@ph", "@h" })
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
                p["@st"].Value = e.StatusCode!.Value;
                p["@pl"].Value = record.Payload;
                p["@ph"].Value = record.PreviousHash;
                p["@h"].Value = record.Hash;
                await insert.ExecuteNonQueryAsync(cancellationToken);

                foreach (var resourceId in (e.Resources ?? []).Select(static r => r.Id).Where(static id => !string.IsNullOrEmpty(id)).Distinct(StringComparer.Ordinal))
                {
                    resourceInsert ??= Command(connection, transaction,
                        "INSERT INTO audit_event_resources (project_id, resource_id, region, seq) VALUES (@p, @x, @r, @s) ON CONFLICT DO NOTHING",
                        ("@p", projectId), ("@x", null), ("@r", region), ("@s", null));
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

    private static async Task<AlertFacts> ForbiddenFactsAsync(DbConnection connection, DbTransaction transaction, PendingFiring firing, CancellationToken cancellationToken)
    {
        var a = firing.Alert;
        var where = "WHERE project_id = @p AND region = @r AND status_code = 403 AND recorded_at >= @from AND recorded_at <= @to AND seq <= @s";
        (string, object?)[] args =
        [
            ("@p", a.ProjectId), ("@r", a.Region), ("@from", DbTime.ToMicros(a.WindowStart)), ("@to", DbTime.ToMicros(a.WindowEnd)), ("@s", firing.AtSequence),
        ];

        int count;
        await using (var c = Command(connection, transaction, $"SELECT COUNT(*) FROM audit_events {where}", args))
        {
            count = Convert.ToInt32(await c.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        async Task<IReadOnlyList<CountedValue>> TopAsync(string column, string missing)
        {
            var top = new List<CountedValue>(TopCount);
            await using var c = Command(connection, transaction,
                $"SELECT COALESCE({column}, '{missing}') AS v, COUNT(*) AS n FROM audit_events {where} GROUP BY COALESCE({column}, '{missing}') ORDER BY n DESC, v LIMIT {TopCount}", args);
            await using var reader = await c.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                top.Add(new CountedValue(reader.GetString(0), Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture)));
            }

            return top;
        }

        return a.Facts with
        {
            ForbiddenCount = count,
            TopPrincipals = await TopAsync("principal_id", "(anonymous)"),
            TopSourceIps = await TopAsync("source_ip", "(unknown)"),
        };
    }

    private static string? IndexedColumnMismatch(DbDataReader reader, string payload)
    {
        AuditEvent e;
        try
        {
            e = AuditEventJson.Parse(payload);
        }
        catch (FormatException)
        {
            return "payload";
        }

        if (!string.Equals(reader.GetString(1), e.Id, StringComparison.Ordinal))
        {
            return "event_id";
        }

        if (e.RecordedAt is not { } at || reader.GetInt64(2) != DbTime.ToMicros(at))
        {
            return "recorded_at";
        }

        static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
        if (!string.Equals(Text(reader, 3), e.PrincipalId, StringComparison.Ordinal))
        {
            return "principal_id";
        }

        if (!string.Equals(Text(reader, 4), e.SourceIp, StringComparison.Ordinal))
        {
            return "source_ip";
        }

        if (!string.Equals(Text(reader, 5), e.ProductName, StringComparison.Ordinal))
        {
            return "product_name";
        }

        if (!string.Equals(Text(reader, 6), e.MethodName, StringComparison.Ordinal))
        {
            return "method_name";
        }

        return reader.GetInt32(7) != e.StatusCode ? "status_code" : null;
    }

    /// <summary>A row of audit_chain_anchors; the signature and what it binds are null for anchors written before anchors were signed.</summary>
    private sealed record StoredAnchor(long Sequence, string Hash, long PurgedAt, int? RetentionDays, long? ProvenAt, string? Signature);

    /// <summary>Keyset position of a page, with the time range the first page resolved.</summary>
    private sealed record PageToken(long After, long Before, long RecordedAt, string Region, long Sequence)
    {
        public string Format() =>
            Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"v1|{After}|{Before}|{RecordedAt}|{Region}|{Sequence}")))
                .TrimEnd('=').Replace('+', '-').Replace('/', '_');

        public static PageToken Parse(string token)
        {
            try
            {
                var b64 = token.Replace('-', '+').Replace('_', '/');
                b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
                var parts = Encoding.UTF8.GetString(Convert.FromBase64String(b64)).Split('|');
                if (parts.Length == 6 && parts[0] == "v1")
                {
                    return new PageToken(
                        long.Parse(parts[1], CultureInfo.InvariantCulture),
                        long.Parse(parts[2], CultureInfo.InvariantCulture),
                        long.Parse(parts[3], CultureInfo.InvariantCulture),
                        parts[4],
                        long.Parse(parts[5], CultureInfo.InvariantCulture));
                }
            }
            catch (FormatException)
            {
            }
            catch (OverflowException)
            {
            }

            throw new ArgumentException("The continuation token is not valid: pass the token returned by the previous page of the same query.");
        }
    }
}

/// <summary>An event id of a batch was stored concurrently; the batch was not written.</summary>
public sealed class DuplicateEventException(string message, Exception inner) : Exception(message, inner);
