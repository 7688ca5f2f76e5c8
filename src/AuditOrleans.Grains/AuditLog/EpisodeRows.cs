using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using AuditOrleans.Grains.Storage;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// The <c>alert_episodes</c> rows (deploy/sql/*/005-episodes.sql): written by
/// <see cref="AuditLogWriter"/> in the transaction of the notice that changes an episode, read
/// back by a detector that starts.
/// </summary>
internal static class EpisodeRows
{
    private const int Open = 0;
    private const int Resolved = 1;

    /// <summary>Records what <paramref name="notice"/> (as stored, with its facts) does to its episode.</summary>
    public static async Task ApplyAsync(DbConnection connection, DbTransaction transaction, FiredAlert notice, long atSequence, CancellationToken cancellationToken)
    {
        if (notice.EpisodeId is not { } episodeId)
        {
            return;
        }

        var principals = JsonSerializer.Serialize(notice.Facts.TopPrincipals.Select(static v => v.Value));
        var sourceIps = JsonSerializer.Serialize(notice.Facts.TopSourceIps.Select(static v => v.Value));
        var at = DbTime.ToMicros(notice.TriggeredAt);
        await using var command = notice.Kind switch
        {
            AlertKind.Firing => Command(connection, transaction,
                "INSERT INTO alert_episodes (id, project_id, region, alert, state, started_at, opened_at, notice_at, notice_seq, notice_count, notice_principals, notice_source_ips, updates, backfill) " +
                "VALUES (@id, @p, @r, @a, @open, @start, @at, @at, @s, @n, @pr, @ip, 0, @b)",
                ("@id", episodeId), ("@p", notice.ProjectId), ("@r", notice.Region), ("@a", notice.Alert.ToString()), ("@open", Open),
                ("@start", DbTime.ToMicros(notice.WindowStart)), ("@at", at), ("@s", atSequence), ("@n", notice.Facts.ForbiddenCount ?? 0),
                ("@pr", principals), ("@ip", sourceIps), ("@b", notice.IsBackfill ? 1 : 0)),
            AlertKind.Update => Command(connection, transaction,
                "UPDATE alert_episodes SET notice_at = @at, notice_seq = @s, notice_count = @n, notice_principals = @pr, notice_source_ips = @ip, " +
                "updates = updates + 1, backfill = CASE WHEN @b = 1 THEN backfill ELSE 0 END WHERE id = @id AND state = @open",
                ("@id", episodeId), ("@open", Open), ("@at", at), ("@s", atSequence), ("@n", notice.Facts.ForbiddenCount ?? 0),
                ("@pr", principals), ("@ip", sourceIps), ("@b", notice.IsBackfill ? 1 : 0)),
            _ => Command(connection, transaction,
                "UPDATE alert_episodes SET state = @resolved, ended_at = @end, resolved_at = @at, resolved_by = @by WHERE id = @id AND state = @open",
                ("@id", episodeId), ("@open", Open), ("@resolved", Resolved), ("@end", DbTime.ToMicros(notice.WindowEnd)), ("@at", at), ("@by", notice.Id)),
        };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<StoredEpisode?> GetOpenAsync(DbConnection connection, string projectId, string region, AlertName alert, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null,
            "SELECT id, started_at, notice_at, notice_seq, notice_count, notice_principals, notice_source_ips, backfill FROM alert_episodes " +
            "WHERE project_id = @p AND region = @r AND alert = @a AND state = @open",
            ("@p", projectId), ("@r", region), ("@a", alert.ToString()), ("@open", Open));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new StoredEpisode(
            reader.GetString(0),
            DbTime.FromMicros(reader.GetInt64(1)),
            DbTime.FromMicros(reader.GetInt64(2)),
            reader.GetInt64(3),
            Convert.ToInt32(reader.GetValue(4), CultureInfo.InvariantCulture),
            JsonSerializer.Deserialize<string[]>(reader.GetString(5)) ?? [],
            JsonSerializer.Deserialize<string[]>(reader.GetString(6)) ?? [],
            Convert.ToInt32(reader.GetValue(7), CultureInfo.InvariantCulture) != 0);
    }

    /// <summary>recorded_at of the last 403 of the latest resolved episode, or null.</summary>
    public static async Task<DateTimeOffset?> GetLastEndAsync(DbConnection connection, string projectId, string region, AlertName alert, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null,
            "SELECT MAX(ended_at) FROM alert_episodes WHERE project_id = @p AND region = @r AND alert = @a AND state = @resolved",
            ("@p", projectId), ("@r", region), ("@a", alert.ToString()), ("@resolved", Resolved));
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : DbTime.FromMicros(Convert.ToInt64(value, CultureInfo.InvariantCulture));
    }

    /// <summary>The project-regions with an open episode, for the silos' look after a restart or failover.</summary>
    public static async Task<IReadOnlyList<(string ProjectId, string Region)>> ListOpenAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null,
            "SELECT project_id, region FROM alert_episodes WHERE state = @open ORDER BY opened_at", ("@open", Open));
        var open = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            open.Add((reader.GetString(0), reader.GetString(1)));
        }

        return open;
    }
}
