using AuditOrleans.Grains.Storage;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>The retention anchor of a chain as stored (where the chain now starts after a purge, and its signature).</summary>
public static class ChainAnchors
{
    /// <summary>The anchor of a chain, or null when nothing was ever purged from it.</summary>
    public static async Task<StoredAnchor?> ReadAnchorAsync(DbConnection connection, string projectId, string region, CancellationToken cancellationToken)
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

    /// <summary>A row of audit_chain_anchors; the signature and what it binds are null for anchors written before anchors were signed.</summary>
    /// <summary>A stored anchor: the cut, when, under which retention, proven by which checkpoint's time, and its signature.</summary>
    public sealed record StoredAnchor(long Sequence, string Hash, long PurgedAt, int? RetentionDays, long? ProvenAt, string? Signature);
}
