using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// Tamper evidence (docs/security.md, Tamper evidence): walks a project-region's hash chain from
/// its retention anchor and reports the first break, and writes and reads the signed checkpoints.
/// </summary>
public sealed class ChainVerifier(AuditDatabase database)
{
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
        var anchor = await ChainAnchors.ReadAnchorAsync(connection, projectId, region, cancellationToken);
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
                if (!signer.Verify(ChainSignatures.CheckpointText(projectId, region, seq, hash, cpReader.GetInt64(2)), cpReader.GetString(3)))
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
            "SELECT seq, event_id, recorded_at, principal_id, source_ip, product_name, method_name, status_code, payload, prev_hash, hash, kind " +
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
                var signature = sign(ChainSignatures.CheckpointText(project, region, seq, hash, at));
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
            ("@p", projectId), ("@r", region), ("@n", Math.Clamp(limit, 1, QueryLimits.MaxCheckpoints)));
        var list = new List<ChainCheckpoint>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new ChainCheckpoint(projectId, region, reader.GetInt64(0), reader.GetString(1), DbTime.FromMicros(reader.GetInt64(2)), reader.GetString(3)));
        }

        return list;
    }

    /// <summary>
    /// Why a chain's retention anchor cannot be trusted, or null: unsigned, signed with another
    /// key or for other values (forged, edited, or copied from another chain or position),
    /// purged in the future, or cutting events younger than the retention.
    /// </summary>
    private static string? AnchorFinding(string projectId, string region, ChainAnchors.StoredAnchor anchor, CheckpointSigner signer, int retentionDays, DateTimeOffset now)
    {
        var what = string.Create(CultureInfo.InvariantCulture,
            $"The retention anchor at position {anchor.Sequence} (it says events 1..{anchor.Sequence} were purged by retention on {AuditEventJson.FormatTime(DbTime.FromMicros(anchor.PurgedAt))})");
        if (anchor.Signature is null || anchor.RetentionDays is null || anchor.ProvenAt is null)
        {
            return $"{what} is not signed: it was written by a version of AuditOrleans before retention anchors were signed, or inserted by someone without the checkpoint key. " +
                "Nothing shows that these events were purged by retention rather than deleted. A legitimate old anchor is replaced by a signed one at this chain's next retention purge.";
        }

        var (days, provenAt) = (anchor.RetentionDays.Value, anchor.ProvenAt.Value);
        if (!signer.VerifyAnchor(ChainSignatures.AnchorText(projectId, region, anchor.Sequence, anchor.Hash, anchor.PurgedAt, days, provenAt), anchor.Signature))
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

    /// <summary>The indexed column (read as in <see cref="VerifyAsync"/>: event_id at 1 to status_code at 7) that differs from the hashed payload, or null.</summary>
    internal static string? IndexedColumnMismatch(DbDataReader reader, string payload)
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

        // Events other than API calls have no status: their column holds 0 (docs/events.md, Event kinds).
        if (reader.GetInt32(7) != (e.StatusCode ?? 0))
        {
            return "status_code";
        }

        return string.Equals(reader.GetString(reader.GetOrdinal("kind")), EventKinds.ToColumn(e.Kind), StringComparison.Ordinal) ? null : "kind";
    }
}
