using System.Globalization;
using System.Runtime.CompilerServices;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>What the detector reads back to rebuild the counting windows of custom rules (docs/rules.md, Restarts).</summary>
public sealed partial class AuditLogWriter
{
    /// <summary>recorded_at (microseconds) of the newest event of a project-region, or null when it has none.</summary>
    public async Task<long?> GetNewestRecordedAsync(string projectId, string region, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT MAX(recorded_at) FROM audit_events WHERE project_id = @p AND region = @r", ("@p", projectId), ("@r", region));
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : Convert.ToInt64(value, CultureInfo.InvariantCulture);
    }

    /// <summary>Per custom rule of a project-region: the event time of its newest firing (its window restarts after it).</summary>
    public async Task<Dictionary<string, long>> GetRuleFiringsAsync(string projectId, string region, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT rule_id, MAX(event_time) FROM fired_alerts WHERE project_id = @p AND region = @r AND rule_id IS NOT NULL AND kind = @k AND is_test = 0 GROUP BY rule_id",
            ("@p", projectId), ("@r", region), ("@k", (int)AlertKind.Firing));
        var firings = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            firings[reader.GetString(0)] = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
        }

        return firings;
    }

    /// <summary>
    /// The events of a project-region whose recorded_at lies between two bounds (microseconds,
    /// inclusive), oldest first, at most <paramref name="limit"/>: the replay of a rule.
    /// </summary>
    public async IAsyncEnumerable<AuditEvent> ReadEventsAsync(
        string projectId, string region, long fromMicros, long toMicros, int limit, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT payload, region FROM audit_events WHERE project_id = @p AND region = @r AND recorded_at >= @from AND recorded_at <= @to ORDER BY recorded_at, seq LIMIT @n",
            ("@p", projectId), ("@r", region), ("@from", fromMicros), ("@to", toMicros), ("@n", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return AuditEventJson.Parse(reader.GetString(0)) with { Region = reader.GetString(1), ProjectId = projectId };
        }
    }
}
