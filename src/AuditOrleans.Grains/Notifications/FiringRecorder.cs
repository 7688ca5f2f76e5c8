using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Lifecycle;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Options;
using static AuditOrleans.Grains.Notifications.FiredAlertRows;
using static AuditOrleans.Grains.Notifications.NotificationStore;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Records fired alerts with one delivery per Security contact, and decides in the firing's
/// transaction whether each delivery is silenced, sent at once or carried by its group's digest
/// (docs/alerts.md, Firings and deliveries, Grouping). The audit log's writer records through
/// <see cref="IFiringRecorder"/>; the outbox (<see cref="NotificationStore"/>) delivers.
/// </summary>
public sealed class FiringRecorder(AuditDatabase database, IOptions<AuditOrleansOptions> options) : IFiringRecorder
{
    /// <summary>
    /// Records a firing and one delivery per Security contact of its project, inside the caller's
    /// transaction: silenced when a silence holds it (nothing is sent); for a single-event alert
    /// within the group interval of the group's last email, carried by the group's digest;
    /// otherwise pending, due at once. Returns the firing with its deliveries.
    /// </summary>
    public async Task<FiredAlert> InsertFiringAsync(DbConnection connection, DbTransaction transaction, FiredAlert alert, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var silence = alert.IsTest ? null : await LifecycleStore.FindHoldingAsync(connection, transaction, alert, cancellationToken);
        alert = alert with { SilenceId = silence?.Id, Acknowledgements = [] };
        await using (var insert = Command(connection, transaction,
            $"INSERT INTO fired_alerts ({AlertColumns}, rule_id) " +
            "VALUES (@id, @p, @r, @a, @sev, @t, @ev, @ws, @we, @f, @test, @kind, @ep, @back, @late, @rule)",
            ("@rule", alert.Facts.Rule?.Id),
            ("@id", alert.Id), ("@p", alert.ProjectId), ("@r", alert.Region), ("@a", alert.Alert.ToString()), ("@sev", alert.Severity.ToString()),
            ("@t", DbTime.ToMicros(alert.TriggeredAt)), ("@ev", DbTime.ToMicros(alert.EventTime)),
            ("@ws", DbTime.ToMicros(alert.WindowStart)), ("@we", DbTime.ToMicros(alert.WindowEnd)),
            ("@f", JsonSerializer.Serialize(alert.Facts, FactsJson)), ("@test", alert.IsTest ? 1 : 0),
            ("@kind", (int)alert.Kind), ("@ep", alert.EpisodeId), ("@back", alert.IsBackfill ? 1 : 0), ("@late", alert.IsLate ? 1 : 0)))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        // A backfill entry is history only: recorded, never delivered (docs/alerts.md, Backfill and late events);
        // so are a dry-run rule's firings and the record of a rule change (docs/rules.md).
        if (alert.IsBackfill || alert.Kind == AlertKind.RuleChanged || alert.Facts.Rule is { DryRun: true })
        {
            return alert with { Deliveries = [] };
        }

        if (silence is not null)
        {
            await LifecycleStore.RecordHeldAsync(connection, transaction, alert.Id, silence.Id, cancellationToken);
        }

        var recipients = new List<string>();
        // Email addresses and webhook contacts (their id, wh_...) alike: each gets its own delivery.
        await using (var select = Command(connection, transaction,
            "SELECT email FROM notification_contacts WHERE project_id = @p AND (types & @security) <> 0 " +
            "UNION ALL SELECT id FROM notification_webhooks WHERE project_id = @p AND (types & @security) <> 0 ORDER BY 1",
            ("@p", alert.ProjectId), ("@security", (int)NotificationType.Security)))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                recipients.Add(reader.GetString(0));
            }
        }

        var interval = options.Value.Alerts.GroupInterval;
        var grouped = silence is null && IsGrouped(alert) && interval > TimeSpan.Zero;
        var deliveries = new List<AlertDelivery>(recipients.Count);
        foreach (var recipient in recipients)
        {
            if (silence is not null)
            {
                await InsertDeliveryAsync(connection, transaction, alert.Id, recipient, (int)DeliveryState.Silenced, alert.TriggeredAt, MessageId(alert.Id, recipient), cancellationToken);
                deliveries.Add(new AlertDelivery(recipient, DeliveryState.Silenced, 0, null, null, null));
            }
            else if (grouped)
            {
                deliveries.Add(await PlanGroupedAsync(connection, transaction, alert, recipient, interval, cancellationToken));
            }
            else
            {
                await InsertDeliveryAsync(connection, transaction, alert.Id, recipient, (int)DeliveryState.Pending, alert.TriggeredAt, MessageId(alert.Id, recipient), cancellationToken);
                deliveries.Add(new AlertDelivery(recipient, DeliveryState.Pending, 0, null, null, alert.TriggeredAt));
            }
        }

        return alert with { Deliveries = deliveries };
    }


    /// <summary>
    /// The delivery of a single-event firing to one recipient (docs/alerts.md, Grouping): at
    /// once when the group (project-region, alert, recipient) had no email within the group
    /// interval; otherwise carried by the group's open digest, or by a new one due one interval
    /// after the group's last email. The group's row is locked for the rest of the transaction
    /// (PostgreSQL), so the outbox cannot close a digest while a firing joins it.
    /// </summary>
    private async Task<AlertDelivery> PlanGroupedAsync(DbConnection connection, DbTransaction transaction, FiredAlert alert, string recipient, TimeSpan interval, CancellationToken cancellationToken)
    {
        // Each custom rule groups on its own (docs/rules.md, Notifications).
        var group = alert.Facts.Rule is { } rule ? $"{AlertName.CustomRule}:{rule.Id}" : alert.Alert.ToString();
        var key = new (string, object?)[] { ("@p", alert.ProjectId), ("@r", alert.Region), ("@a", group), ("@to", recipient) };
        await using (var ensure = Command(connection, transaction,
            "INSERT INTO alert_groups (project_id, region, alert, recipient, last_email_at, open_digest_id) VALUES (@p, @r, @a, @to, @never, NULL) ON CONFLICT DO NOTHING",
            [.. key, ("@never", long.MinValue)]))
        {
            await ensure.ExecuteNonQueryAsync(cancellationToken);
        }

        long lastEmail;
        string? openDigest;
        await using (var read = Command(connection, transaction,
            "SELECT last_email_at, open_digest_id FROM alert_groups WHERE project_id = @p AND region = @r AND alert = @a AND recipient = @to" + ForUpdate, key))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            lastEmail = reader.GetInt64(0);
            openDigest = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        var now = DbTime.ToMicros(alert.TriggeredAt);
        var intervalMicros = interval.Ticks / 10;
        if (openDigest is null && (lastEmail == long.MinValue || lastEmail <= now - intervalMicros))
        {
            await using (var update = Command(connection, transaction,
                "UPDATE alert_groups SET last_email_at = @now WHERE project_id = @p AND region = @r AND alert = @a AND recipient = @to", [.. key, ("@now", now)]))
            {
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            await InsertDeliveryAsync(connection, transaction, alert.Id, recipient, (int)DeliveryState.Pending, alert.TriggeredAt, MessageId(alert.Id, recipient), cancellationToken);
            return new AlertDelivery(recipient, DeliveryState.Pending, 0, null, null, alert.TriggeredAt);
        }

        DateTimeOffset due;
        if (openDigest is null)
        {
            due = DbTime.FromMicros(lastEmail + intervalMicros);
            openDigest = await InsertDigestAsync(connection, transaction, alert.ProjectId, recipient, alert.Region, alert.Alert, alert.TriggeredAt, due, cancellationToken);
            await using var update = Command(connection, transaction,
                "UPDATE alert_groups SET last_email_at = @due, open_digest_id = @d WHERE project_id = @p AND region = @r AND alert = @a AND recipient = @to",
                [.. key, ("@due", DbTime.ToMicros(due)), ("@d", openDigest)]);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        else
        {
            await using var read = Command(connection, transaction, "SELECT next_attempt_at FROM alert_digests WHERE id = @d", ("@d", openDigest));
            due = DbTime.FromMicros(Convert.ToInt64(await read.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture));
        }

        await InsertDeliveryAsync(connection, transaction, alert.Id, recipient, InDigestState, due, MessageId(openDigest, recipient), cancellationToken);
        await AddMemberAsync(connection, transaction, alert.Id, recipient, openDigest, cancellationToken);
        return new AlertDelivery(recipient, DeliveryState.Pending, 0, null, null, due) { DigestId = openDigest };
    }

    private string ForUpdate => database.Provider == StorageProvider.PostgreSql ? " FOR UPDATE" : "";

    private static async Task InsertDeliveryAsync(DbConnection connection, DbTransaction transaction, string alertId, string recipient, int state, DateTimeOffset next, string messageId, CancellationToken cancellationToken)
    {
        await using var delivery = Command(connection, transaction,
            "INSERT INTO alert_deliveries (alert_id, recipient, state, attempts, next_attempt_at, message_id) VALUES (@id, @to, @s, 0, @next, @mid)",
            ("@id", alertId), ("@to", recipient), ("@s", state), ("@next", DbTime.ToMicros(next)), ("@mid", messageId));
        await delivery.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Records a firing outside of an event append (Test-AuditAlert).</summary>
    public Task<FiredAlert> RecordFiringAsync(FiredAlert alert, CancellationToken cancellationToken = default) =>
        database.WriteAsync((connection, transaction) => InsertFiringAsync(connection, transaction, alert, cancellationToken), cancellationToken);
}
