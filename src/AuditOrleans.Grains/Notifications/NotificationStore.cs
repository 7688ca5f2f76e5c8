using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Storage;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Notification contacts, fired alerts and their deliveries (the outbox) over ADO.NET.
/// </summary>
public sealed class NotificationStore(AuditDatabase database) : IFiringRecorder
{
    private static readonly JsonSerializerOptions FactsJson = new(JsonSerializerDefaults.Web);

    /// <summary>The columns <see cref="ReadAlert"/> reads, in its order.</summary>
    private const string AlertColumns = "id, project_id, region, alert, severity, triggered_at, event_time, window_start, window_end, facts, is_test, kind, episode_id, backfill, late";

    private const int AlertColumnCount = 15;

    private static readonly string JoinedAlertColumns = string.Join(", ", AlertColumns.Split(", ").Select(static c => "a." + c));

    public async Task<IReadOnlyList<NotificationContact>> GetContactsAsync(string projectId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT email, types, created_at FROM notification_contacts WHERE project_id = @p ORDER BY email", ("@p", projectId));
        var contacts = new List<NotificationContact>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            contacts.Add(new NotificationContact(projectId, reader.GetString(0), (NotificationType)reader.GetInt32(1), DbTime.FromMicros(reader.GetInt64(2))));
        }

        return contacts;
    }

    /// <summary>Adds a contact or adds types to an existing one; returns the stored contact.</summary>
    public Task<NotificationContact> UpsertContactAsync(string projectId, string email, NotificationType types, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using (var upsert = Command(connection, transaction,
                "INSERT INTO notification_contacts (project_id, email, types, created_at) VALUES (@p, @e, @t, @c) " +
                "ON CONFLICT (project_id, email) DO UPDATE SET types = notification_contacts.types | excluded.types",
                ("@p", projectId), ("@e", email), ("@t", (int)types), ("@c", DbTime.ToMicros(now))))
            {
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var read = Command(connection, transaction,
                "SELECT types, created_at FROM notification_contacts WHERE project_id = @p AND email = @e", ("@p", projectId), ("@e", email));
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            return new NotificationContact(projectId, email, (NotificationType)reader.GetInt32(0), DbTime.FromMicros(reader.GetInt64(1)));
        }, cancellationToken);

    public Task<bool> DeleteContactAsync(string projectId, string email, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var delete = Command(connection, transaction,
                "DELETE FROM notification_contacts WHERE project_id = @p AND email = @e", ("@p", projectId), ("@e", email));
            return await delete.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    /// <summary>
    /// Records a firing and one pending delivery per Security contact of its project, inside the
    /// caller's transaction. Returns the firing with its deliveries.
    /// </summary>
    public async Task<FiredAlert> InsertFiringAsync(DbConnection connection, DbTransaction transaction, FiredAlert alert, CancellationToken cancellationToken = default)
    {
        await using (var insert = Command(connection, transaction,
            $"INSERT INTO fired_alerts ({AlertColumns}) " +
            "VALUES (@id, @p, @r, @a, @sev, @t, @ev, @ws, @we, @f, @test, @kind, @ep, @back, @late)",
            ("@id", alert.Id), ("@p", alert.ProjectId), ("@r", alert.Region), ("@a", alert.Alert.ToString()), ("@sev", alert.Severity.ToString()),
            ("@t", DbTime.ToMicros(alert.TriggeredAt)), ("@ev", DbTime.ToMicros(alert.EventTime)),
            ("@ws", DbTime.ToMicros(alert.WindowStart)), ("@we", DbTime.ToMicros(alert.WindowEnd)),
            ("@f", JsonSerializer.Serialize(alert.Facts, FactsJson)), ("@test", alert.IsTest ? 1 : 0),
            ("@kind", (int)alert.Kind), ("@ep", alert.EpisodeId), ("@back", alert.IsBackfill ? 1 : 0), ("@late", alert.IsLate ? 1 : 0)))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        // A backfill entry is history only: recorded, never delivered (docs/alerts.md, Backfill and late events).
        if (alert.IsBackfill)
        {
            return alert with { Deliveries = [] };
        }

        var recipients = new List<string>();
        await using (var select = Command(connection, transaction,
            "SELECT email FROM notification_contacts WHERE project_id = @p AND (types & @security) <> 0 ORDER BY email",
            ("@p", alert.ProjectId), ("@security", (int)NotificationType.Security)))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                recipients.Add(reader.GetString(0));
            }
        }

        var deliveries = new List<AlertDelivery>(recipients.Count);
        foreach (var recipient in recipients)
        {
            await using var delivery = Command(connection, transaction,
                "INSERT INTO alert_deliveries (alert_id, recipient, state, attempts, next_attempt_at, message_id) VALUES (@id, @to, 0, 0, @next, @mid)",
                ("@id", alert.Id), ("@to", recipient), ("@next", DbTime.ToMicros(alert.TriggeredAt)), ("@mid", MessageId(alert.Id, recipient)));
            await delivery.ExecuteNonQueryAsync(cancellationToken);
            deliveries.Add(new AlertDelivery(recipient, DeliveryState.Pending, 0, null, null, alert.TriggeredAt));
        }

        return alert with { Deliveries = deliveries };
    }

    /// <summary>Records a firing outside of an event append (Test-AuditAlert).</summary>
    public Task<FiredAlert> RecordFiringAsync(FiredAlert alert, CancellationToken cancellationToken = default) =>
        database.WriteAsync((connection, transaction) => InsertFiringAsync(connection, transaction, alert, cancellationToken), cancellationToken);

    /// <summary>The stable Message-Id of one firing's email to one recipient (receivers can dedupe on it).</summary>
    public static string MessageId(string alertId, string recipient)
    {
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(recipient.ToLowerInvariant())))[..12];
        return $"{alertId}.{digest}@auditorleans";
    }

    /// <summary>Fired alerts with their deliveries, newest first.</summary>
    public async Task<IReadOnlyList<FiredAlert>> GetHistoryAsync(AlertHistoryQuery query, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder(
            $"SELECT {AlertColumns} FROM fired_alerts WHERE project_id = @p");
        AddParameter(command, "@p", query.ProjectId);
        if (query.Region is not null)
        {
            sql.Append(" AND region = @r");
            AddParameter(command, "@r", query.Region);
        }

        if (query.Alert is { } name)
        {
            sql.Append(" AND alert = @a");
            AddParameter(command, "@a", name.ToString());
        }

        if (query.TriggeredAfter is { } after)
        {
            sql.Append(" AND triggered_at >= @t");
            AddParameter(command, "@t", DbTime.ToMicros(after));
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

        if (alerts.Count == 0)
        {
            return alerts;
        }

        var deliveries = await GetDeliveriesAsync(connection, alerts.Select(static a => a.Id).ToList(), cancellationToken);
        return [.. alerts.Select(a => a with { Deliveries = deliveries.TryGetValue(a.Id, out var d) ? d : [] })];
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

        var deliveries = await GetDeliveriesAsync(connection, [alertId], cancellationToken);
        return alert with { Deliveries = deliveries.TryGetValue(alertId, out var d) ? d : [] };
    }

    /// <summary>Deliveries whose next attempt is due at <paramref name="now"/>, oldest first.</summary>
    public async Task<IReadOnlyList<DueDelivery>> GetDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            $"SELECT {JoinedAlertColumns}, " +
            "d.recipient, d.message_id, d.attempts FROM alert_deliveries d JOIN fired_alerts a ON a.id = d.alert_id " +
            "WHERE d.state IN (0, 1) AND d.next_attempt_at <= @now ORDER BY d.next_attempt_at, a.id LIMIT @n",
            ("@now", DbTime.ToMicros(now)), ("@n", limit));
        var due = new List<DueDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            due.Add(new DueDelivery(ReadAlert(reader, 0), reader.GetString(AlertColumnCount), reader.GetString(AlertColumnCount + 1), reader.GetInt32(AlertColumnCount + 2)));
        }

        return due;
    }

    /// <summary>When the next pending delivery is due, or null when nothing is pending.</summary>
    public async Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT MIN(next_attempt_at) FROM alert_deliveries WHERE state IN (0, 1)");
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : DbTime.FromMicros(Convert.ToInt64(value, CultureInfo.InvariantCulture));
    }

    /// <summary>Records the outcome of one attempt.</summary>
    public Task UpdateDeliveryAsync(string alertId, string recipient, DeliveryState state, int attempts, string? lastError, DateTimeOffset nextAttemptAt, DateTimeOffset? deliveredAt, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var update = Command(connection, transaction,
                "UPDATE alert_deliveries SET state = @s, attempts = @n, last_error = @e, next_attempt_at = @next, delivered_at = @at WHERE alert_id = @id AND recipient = @to",
                ("@s", (int)state), ("@n", attempts), ("@e", lastError is null ? null : Scope.Printable(lastError, 1000)),
                ("@next", DbTime.ToMicros(nextAttemptAt)), ("@at", deliveredAt is { } d ? DbTime.ToMicros(d) : null),
                ("@id", alertId), ("@to", recipient));
            return await update.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static FiredAlert ReadAlert(DbDataReader reader, int o) => new()
    {
        Id = reader.GetString(o),
        ProjectId = reader.GetString(o + 1),
        Region = reader.GetString(o + 2),
        Alert = Enum.Parse<AlertName>(reader.GetString(o + 3)),
        Severity = Enum.Parse<AlertSeverity>(reader.GetString(o + 4)),
        TriggeredAt = DbTime.FromMicros(reader.GetInt64(o + 5)),
        EventTime = DbTime.FromMicros(reader.GetInt64(o + 6)),
        WindowStart = DbTime.FromMicros(reader.GetInt64(o + 7)),
        WindowEnd = DbTime.FromMicros(reader.GetInt64(o + 8)),
        Facts = JsonSerializer.Deserialize<AlertFacts>(reader.GetString(o + 9), FactsJson) ?? new AlertFacts(),
        IsTest = Convert.ToInt32(reader.GetValue(o + 10), CultureInfo.InvariantCulture) != 0,
        Kind = (AlertKind)Convert.ToInt32(reader.GetValue(o + 11), CultureInfo.InvariantCulture),
        EpisodeId = reader.IsDBNull(o + 12) ? null : reader.GetString(o + 12),
        IsBackfill = Convert.ToInt32(reader.GetValue(o + 13), CultureInfo.InvariantCulture) != 0,
        IsLate = Convert.ToInt32(reader.GetValue(o + 14), CultureInfo.InvariantCulture) != 0,
    };

    private static async Task<Dictionary<string, IReadOnlyList<AlertDelivery>>> GetDeliveriesAsync(DbConnection connection, IReadOnlyList<string> alertIds, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, IReadOnlyList<AlertDelivery>>(StringComparer.Ordinal);
        foreach (var chunk in alertIds.Chunk(500))
        {
            await using var command = connection.CreateCommand();
            var names = string.Join(", ", chunk.Select((id, i) =>
            {
                AddParameter(command, $"@a{i}", id);
                return $"@a{i}";
            }));
            command.CommandText =
                $"SELECT alert_id, recipient, state, attempts, last_error, delivered_at, next_attempt_at FROM alert_deliveries WHERE alert_id IN ({names}) ORDER BY alert_id, recipient";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var id = reader.GetString(0);
                var state = (DeliveryState)reader.GetInt32(2);
                var delivery = new AlertDelivery(
                    reader.GetString(1),
                    state,
                    reader.GetInt32(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : DbTime.FromMicros(reader.GetInt64(5)),
                    state is DeliveryState.Pending or DeliveryState.Retrying ? DbTime.FromMicros(reader.GetInt64(6)) : null);
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
