using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// Retention (docs/configuration.md, Retention): deletes expired events per chain and records a
/// signed anchor where the chain was cut.
/// </summary>
public sealed class LogRetention(AuditDatabase database)
{
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
    /// the checkpoint that proved the age (see <see cref="ChainSignatures.AnchorText"/>).
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
                    if (signer.Verify(ChainSignatures.CheckpointText(project, region, seq, hash, createdAt), reader.GetString(5)))
                    {
                        cuts.Add((project, region, seq, hash, createdAt));
                    }
                }
            }

            var deleted = 0;
            foreach (var (project, region, seq, hash, provenAt) in cuts)
            {
                var signature = signer.SignAnchor(ChainSignatures.AnchorText(project, region, seq, hash, purgedAt, retentionDays, provenAt));
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
}
