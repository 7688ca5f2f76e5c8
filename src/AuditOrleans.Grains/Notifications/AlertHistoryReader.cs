using System.Data.Common;
using System.Globalization;
using System.Text;
using AuditOrleans.Grains.Lifecycle;
using AuditOrleans.Grains.Storage;
using static AuditOrleans.Grains.Notifications.FiredAlertRows;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Reads the alert history: fired alerts with their deliveries (a digest's state for the ones a
/// digest carries), the silence that held each and its acknowledgements (docs/alerts.md).
/// </summary>
public sealed class AlertHistoryReader(AuditDatabase database)
{
    /// <summary>Fired alerts with their deliveries, silences and acknowledgements, newest first.</summary>
    public async Task<IReadOnlyList<FiredAlert>> GetHistoryAsync(AlertHistoryQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder(
            $"SELECT {AlertColumns} FROM fired_alerts WHERE project_id = @p");
        AddParameter(command, "@p", query.ProjectId);
        Filter(command, sql, "region", "@r", query.Region);
        Filter(command, sql, "alert", "@a", query.Alert?.ToString());
        if (query.TriggeredAfter is { } after)
        {
            sql.Append(" AND triggered_at >= @t");
            AddParameter(command, "@t", DbTime.ToMicros(after));
        }

        Filter(command, sql, "id", "@id", query.FiringId);
        if (query.SilenceId is { } silenceId)
        {
            sql.Append(" AND id IN (SELECT alert_id FROM fired_alert_silences WHERE silence_id = @s)");
            AddParameter(command, "@s", silenceId);
        }

        sql.Append(" ORDER BY triggered_at DESC, id DESC LIMIT @n");
        AddParameter(command, "@n", Math.Clamp(query.Limit, 1, QueryLimits.MaxAlertHistory));
        command.CommandText = sql.ToString();

        var alerts = new List<FiredAlert>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                alerts.Add(ReadAlert(reader, 0));
            }
        }

        return await CompleteAsync(connection, alerts, cancellationToken);
    }

    /// <summary>One fired alert with its deliveries, or null.</summary>
    public async Task<FiredAlert?> GetFiringAsync(string alertId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        FiredAlert alert;
        await using (var command = Command(connection, null,
            $"SELECT {AlertColumns} FROM fired_alerts WHERE id = @id", ("@id", alertId)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            alert = ReadAlert(reader, 0);
        }

        return (await CompleteAsync(connection, [alert], cancellationToken))[0];
    }

    /// <summary>The firings with their deliveries, the silence that held each and who took or closed it.</summary>
    private static async Task<IReadOnlyList<FiredAlert>> CompleteAsync(DbConnection connection, List<FiredAlert> alerts, CancellationToken cancellationToken)
    {
        if (alerts.Count == 0)
        {
            return alerts;
        }

        var ids = alerts.Select(static a => a.Id).ToList();
        var deliveries = await GetDeliveriesAsync(connection, ids, cancellationToken);
        var targets = await WebhookStore.GetTargetsAsync(connection, deliveries.Values.SelectMany(static d => d).Select(static d => d.Recipient), cancellationToken);
        var silences = new Dictionary<string, string>(StringComparer.Ordinal);
        var acknowledgements = new Dictionary<string, List<FiringAcknowledgement>>(StringComparer.Ordinal);
        foreach (var chunk in ids.Chunk(500))
        {
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = $"SELECT alert_id, silence_id FROM fired_alert_silences WHERE alert_id IN ({LifecycleStore.InList(command, chunk)})";
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    silences[reader.GetString(0)] = reader.GetString(1);
                }
            }

            await using (var command = connection.CreateCommand())
            {
                command.CommandText =
                    $"SELECT alert_id, action, key_id, at, comment FROM alert_acknowledgements WHERE alert_id IN ({LifecycleStore.InList(command, chunk)}) ORDER BY alert_id, at, action";
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var id = reader.GetString(0);
                    if (!acknowledgements.TryGetValue(id, out var list))
                    {
                        acknowledgements[id] = list = [];
                    }

                    list.Add(new FiringAcknowledgement(
                        (FiringAction)Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture),
                        reader.GetString(2),
                        DbTime.FromMicros(reader.GetInt64(3)),
                        reader.IsDBNull(4) ? null : reader.GetString(4)));
                }
            }
        }

        return [.. alerts.Select(a => a with
        {
            Deliveries = deliveries.TryGetValue(a.Id, out var d)
                ? [.. d.Select(x => targets.TryGetValue(x.Recipient, out var target) ? x with { Target = target } : x)]
                : [],
            SilenceId = silences.GetValueOrDefault(a.Id),
            Acknowledgements = acknowledgements.TryGetValue(a.Id, out var k) ? k : [],
        })];
    }

    /// <summary>The deliveries of the firings; a delivery carried by a digest has the digest's state, attempts and times.</summary>
    private static async Task<Dictionary<string, IReadOnlyList<AlertDelivery>>> GetDeliveriesAsync(DbConnection connection, IReadOnlyList<string> alertIds, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, IReadOnlyList<AlertDelivery>>(StringComparer.Ordinal);
        foreach (var chunk in alertIds.Chunk(500))
        {
            await using var command = connection.CreateCommand();
            command.CommandText =
                "SELECT d.alert_id, d.recipient, d.state, d.attempts, d.last_error, d.delivered_at, d.next_attempt_at, " +
                "g.id, g.state, g.attempts, g.last_error, g.delivered_at, g.next_attempt_at " +
                "FROM alert_deliveries d LEFT JOIN alert_digest_members m ON m.alert_id = d.alert_id AND m.recipient = d.recipient " +
                "LEFT JOIN alert_digests g ON g.id = m.digest_id " +
                $"WHERE d.alert_id IN ({LifecycleStore.InList(command, chunk)}) ORDER BY d.alert_id, d.recipient";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var id = reader.GetString(0);
                var inDigest = reader.GetInt32(2) == NotificationStore.InDigestState && !reader.IsDBNull(7);
                var o = inDigest ? 8 : 2;
                var state = (DeliveryState)reader.GetInt32(o);
                var delivery = new AlertDelivery(
                    reader.GetString(1),
                    state,
                    reader.GetInt32(o + 1),
                    reader.IsDBNull(o + 2) ? null : reader.GetString(o + 2),
                    reader.IsDBNull(o + 3) ? null : DbTime.FromMicros(reader.GetInt64(o + 3)),
                    state is DeliveryState.Pending or DeliveryState.Retrying ? DbTime.FromMicros(reader.GetInt64(o + 4)) : null)
                {
                    DigestId = inDigest ? reader.GetString(7) : null,
                };
                if (!result.TryGetValue(id, out var list))
                {
                    result[id] = list = new List<AlertDelivery>();
                }

                ((List<AlertDelivery>)list).Add(delivery);
            }
        }

        return result;
    }
}
