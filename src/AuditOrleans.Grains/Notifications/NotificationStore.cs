using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Lifecycle;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Options;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Notification contacts, fired alerts and their deliveries (the outbox) over ADO.NET, with the
/// digests that group the single-event alerts' emails and the per-contact email cap
/// (docs/alerts.md, Grouping and The email cap). Every decision is read from and written to the
/// database in the firing's or the outbox's transaction, so a restart changes none.
/// </summary>
public sealed class NotificationStore(AuditDatabase database, IOptions<AuditOrleansOptions> options) : IFiringRecorder
{
    /// <summary>alert_deliveries.state of a firing whose email to the recipient is a digest (alert_digest_members names it).</summary>
    public const int InDigestState = 4;

    /// <summary>The window of the email cap.</summary>
    public static readonly TimeSpan CapWindow = TimeSpan.FromHours(1);

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

    /// <summary>True for the firings whose emails are grouped: the single-event alerts', tests excepted.</summary>
    public static bool IsGrouped(FiredAlert alert) => !alert.IsTest && alert.Alert != AlertName.HttpForbiddenErrorRateHigh;

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

    private static async Task AddMemberAsync(DbConnection connection, DbTransaction transaction, string alertId, string recipient, string digestId, CancellationToken cancellationToken)
    {
        await using var member = Command(connection, transaction,
            "INSERT INTO alert_digest_members (alert_id, recipient, digest_id) VALUES (@a, @to, @d)", ("@a", alertId), ("@to", recipient), ("@d", digestId));
        await member.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<string> InsertDigestAsync(
        DbConnection connection, DbTransaction transaction, string projectId, string recipient, string? region, AlertName? alert, DateTimeOffset openedAt, DateTimeOffset due, CancellationToken cancellationToken)
    {
        var id = Guid.CreateVersion7(openedAt).ToString("N");
        await using var insert = Command(connection, transaction,
            "INSERT INTO alert_digests (id, project_id, recipient, region, alert, opened_at, due_at, closed_at, state, attempts, next_attempt_at, message_id) " +
            "VALUES (@id, @p, @to, @r, @a, @opened, @due, NULL, 0, 0, @due, @mid)",
            ("@id", id), ("@p", projectId), ("@to", recipient), ("@r", region), ("@a", alert?.ToString()),
            ("@opened", DbTime.ToMicros(openedAt)), ("@due", DbTime.ToMicros(due)), ("@mid", MessageId(id, recipient)));
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return id;
    }

    /// <summary>Records a firing outside of an event append (Test-AuditAlert).</summary>
    public Task<FiredAlert> RecordFiringAsync(FiredAlert alert, CancellationToken cancellationToken = default) =>
        database.WriteAsync((connection, transaction) => InsertFiringAsync(connection, transaction, alert, cancellationToken), cancellationToken);

    /// <summary>
    /// The stable id of one firing's (or digest's) message to one recipient, the same at every
    /// attempt so that receivers can dedupe on it: the email's Message-Id, or for a webhook
    /// contact the webhook-id header (msg_...).
    /// </summary>
    public static string MessageId(string alertId, string recipient)
    {
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(recipient.ToLowerInvariant())))[..12];
        return WebhookSecretLimits.IsWebhookId(recipient) ? $"msg_{alertId}_{digest}" : $"{alertId}.{digest}@auditorleans";
    }

    /// <summary>Fired alerts with their deliveries, silences and acknowledgements, newest first.</summary>
    public async Task<IReadOnlyList<FiredAlert>> GetHistoryAsync(AlertHistoryQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
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

        if (query.FiringId is { } firingId)
        {
            sql.Append(" AND id = @id");
            AddParameter(command, "@id", firingId);
        }

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

    /// <summary>Deliveries of their own (not carried by a digest) whose next attempt is due at <paramref name="now"/>, oldest first.</summary>
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

    /// <summary>Digests whose next attempt is due at <paramref name="now"/>, oldest first.</summary>
    public async Task<IReadOnlyList<DueDigest>> GetDueDigestsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT id, project_id, recipient, region, alert, opened_at, due_at, attempts, message_id FROM alert_digests " +
            "WHERE state IN (0, 1) AND next_attempt_at <= @now ORDER BY next_attempt_at, id LIMIT @n",
            ("@now", DbTime.ToMicros(now)), ("@n", limit));
        var due = new List<DueDigest>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            due.Add(new DueDigest(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : Enum.Parse<AlertName>(reader.GetString(4)),
                DbTime.FromMicros(reader.GetInt64(5)),
                DbTime.FromMicros(reader.GetInt64(6)),
                reader.GetInt32(7),
                reader.GetString(8)));
        }

        return due;
    }

    /// <summary>When the next pending delivery or digest is due, or null when nothing is pending.</summary>
    public async Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT MIN(n) FROM (SELECT MIN(next_attempt_at) AS n FROM alert_deliveries WHERE state IN (0, 1) " +
            "UNION ALL SELECT MIN(next_attempt_at) AS n FROM alert_digests WHERE state IN (0, 1)) due");
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : DbTime.FromMicros(Convert.ToInt64(value, CultureInfo.InvariantCulture));
    }

    /// <summary>Records the outcome of one attempt; a delivered email of a real firing counts in its contact's email cap.</summary>
    public Task UpdateDeliveryAsync(string alertId, string recipient, DeliveryState state, int attempts, string? lastError, DateTimeOffset nextAttemptAt, DateTimeOffset? deliveredAt, CancellationToken cancellationToken = default) =>
        UpdateDeliveryAsync(alertId, recipient, state, attempts, lastError, nextAttemptAt, deliveredAt, null, cancellationToken);

    /// <summary>
    /// Records the outcome of one attempt; <paramref name="countedSend"/> (project and message id)
    /// when it is a delivered email that counts in the recipient's cap.
    /// </summary>
    public Task UpdateDeliveryAsync(string alertId, string recipient, DeliveryState state, int attempts, string? lastError, DateTimeOffset nextAttemptAt, DateTimeOffset? deliveredAt,
        (string ProjectId, string MessageId)? countedSend, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var update = Command(connection, transaction,
                "UPDATE alert_deliveries SET state = @s, attempts = @n, last_error = @e, next_attempt_at = @next, delivered_at = @at WHERE alert_id = @id AND recipient = @to",
                ("@s", (int)state), ("@n", attempts), ("@e", lastError is null ? null : Scope.Printable(lastError, 1000)),
                ("@next", DbTime.ToMicros(nextAttemptAt)), ("@at", deliveredAt is { } d ? DbTime.ToMicros(d) : null),
                ("@id", alertId), ("@to", recipient));
            var changed = await update.ExecuteNonQueryAsync(cancellationToken);
            if (countedSend is { } send && deliveredAt is { } sentAt)
            {
                await RecordSendAsync(connection, transaction, send.ProjectId, recipient, send.MessageId, sentAt, cancellationToken);
            }

            return changed;
        }, cancellationToken);

    /// <summary>Records the outcome of one attempt to send a digest; a delivered digest counts in its contact's email cap.</summary>
    public Task UpdateDigestAsync(DueDigest digest, DeliveryState state, int attempts, string? lastError, DateTimeOffset nextAttemptAt, DateTimeOffset? deliveredAt, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var update = Command(connection, transaction,
                "UPDATE alert_digests SET state = @s, attempts = @n, last_error = @e, next_attempt_at = @next, delivered_at = @at WHERE id = @id",
                ("@s", (int)state), ("@n", attempts), ("@e", lastError is null ? null : Scope.Printable(lastError, 1000)),
                ("@next", DbTime.ToMicros(nextAttemptAt)), ("@at", deliveredAt is { } d ? DbTime.ToMicros(d) : null), ("@id", digest.Id));
            var changed = await update.ExecuteNonQueryAsync(cancellationToken);
            if (deliveredAt is { } sentAt)
            {
                await RecordSendAsync(connection, transaction, digest.ProjectId, digest.Recipient, digest.MessageId, sentAt, cancellationToken);
            }

            return changed;
        }, cancellationToken);

    /// <summary>
    /// Closes a digest before it is sent: no firing joins it afterwards (the next ones open a new
    /// digest). Idempotent, so a retry of the digest changes nothing.
    /// </summary>
    public Task CloseDigestAsync(DueDigest digest, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            // The group row first: on PostgreSQL this waits for a firing that is joining the digest to commit.
            await using (var group = Command(connection, transaction, "UPDATE alert_groups SET open_digest_id = NULL WHERE open_digest_id = @d", ("@d", digest.Id)))
            {
                await group.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var close = Command(connection, transaction,
                "UPDATE alert_digests SET closed_at = @now WHERE id = @d AND closed_at IS NULL", ("@now", DbTime.ToMicros(now)), ("@d", digest.Id));
            return await close.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    /// <summary>The firings a digest carries, oldest event first (at most <paramref name="limit"/>), and how many it carries in all.</summary>
    public async Task<(IReadOnlyList<FiredAlert> Firings, int Total)> GetDigestFiringsAsync(string digestId, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        int total;
        await using (var count = Command(connection, null, "SELECT COUNT(*) FROM alert_digest_members WHERE digest_id = @d", ("@d", digestId)))
        {
            total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        var firings = new List<FiredAlert>();
        await using var command = Command(connection, null,
            $"SELECT {JoinedAlertColumns} " +
            "FROM alert_digest_members m JOIN fired_alerts a ON a.id = m.alert_id WHERE m.digest_id = @d ORDER BY a.event_time, a.triggered_at, a.id LIMIT @n",
            ("@d", digestId), ("@n", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            firings.Add(ReadAlert(reader, 0));
        }

        return (firings, total);
    }

    /// <summary>The emails <paramref name="recipient"/> received for the project in the hour before <paramref name="now"/>, and the oldest of them.</summary>
    public async Task<(int Count, DateTimeOffset? Oldest)> GetRecentSendsAsync(string projectId, string recipient, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT COUNT(*), MIN(sent_at) FROM alert_contact_sends WHERE project_id = @p AND recipient = @to AND sent_at > @since",
            ("@p", projectId), ("@to", recipient), ("@since", DbTime.ToMicros(now - CapWindow)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var count = Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture);
        return (count, reader.IsDBNull(1) ? null : DbTime.FromMicros(reader.GetInt64(1)));
    }

    /// <summary>
    /// Moves a firing's email to one recipient into the recipient's merged digest (the cap is
    /// reached): the open one, or a new one due at <paramref name="due"/>. Returns the digest's id.
    /// </summary>
    public Task<string> DeferDeliveryAsync(DueDelivery delivery, DateTimeOffset due, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            var merged = await MergedDigestAsync(connection, transaction, delivery.Alert.ProjectId, delivery.Recipient, due, now, cancellationToken);
            await using (var update = Command(connection, transaction,
                "UPDATE alert_deliveries SET state = @s, next_attempt_at = @due, message_id = @mid WHERE alert_id = @a AND recipient = @to AND state IN (0, 1)",
                ("@s", InDigestState), ("@due", DbTime.ToMicros(merged.Due)), ("@mid", MessageId(merged.Id, delivery.Recipient)),
                ("@a", delivery.Alert.Id), ("@to", delivery.Recipient)))
            {
                if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    return merged.Id;
                }
            }

            await AddMemberAsync(connection, transaction, delivery.Alert.Id, delivery.Recipient, merged.Id, cancellationToken);
            return merged.Id;
        }, cancellationToken);

    /// <summary>Moves every firing of a digest not yet sent into the recipient's merged digest (the cap is reached) and drops the digest. Returns the merged digest's id.</summary>
    public Task<string> DeferDigestAsync(DueDigest digest, DateTimeOffset due, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using (var group = Command(connection, transaction, "UPDATE alert_groups SET open_digest_id = NULL WHERE open_digest_id = @d", ("@d", digest.Id)))
            {
                await group.ExecuteNonQueryAsync(cancellationToken);
            }

            var merged = await MergedDigestAsync(connection, transaction, digest.ProjectId, digest.Recipient, due, now, cancellationToken);
            await using (var deliveries = Command(connection, transaction,
                "UPDATE alert_deliveries SET next_attempt_at = @due, message_id = @mid WHERE recipient = @to AND alert_id IN (SELECT alert_id FROM alert_digest_members WHERE digest_id = @d)",
                ("@due", DbTime.ToMicros(merged.Due)), ("@mid", MessageId(merged.Id, digest.Recipient)), ("@to", digest.Recipient), ("@d", digest.Id)))
            {
                await deliveries.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var members = Command(connection, transaction, "UPDATE alert_digest_members SET digest_id = @m WHERE digest_id = @d", ("@m", merged.Id), ("@d", digest.Id)))
            {
                await members.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var drop = Command(connection, transaction, "DELETE FROM alert_digests WHERE id = @d", ("@d", digest.Id)))
            {
                await drop.ExecuteNonQueryAsync(cancellationToken);
            }

            return merged.Id;
        }, cancellationToken);

    /// <summary>Moves a merged digest that is due while the cap is still reached to <paramref name="due"/>.</summary>
    public Task PostponeDigestAsync(DueDigest digest, DateTimeOffset due, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var update = Command(connection, transaction,
                "UPDATE alert_digests SET due_at = @due, next_attempt_at = @due WHERE id = @d AND state = 0 AND attempts = 0", ("@due", DbTime.ToMicros(due)), ("@d", digest.Id));
            return await update.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static async Task<(string Id, DateTimeOffset Due)> MergedDigestAsync(
        DbConnection connection, DbTransaction transaction, string projectId, string recipient, DateTimeOffset due, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using (var open = Command(connection, transaction,
            "SELECT id, next_attempt_at FROM alert_digests WHERE project_id = @p AND recipient = @to AND closed_at IS NULL AND region IS NULL AND alert IS NULL ORDER BY opened_at LIMIT 1",
            ("@p", projectId), ("@to", recipient)))
        await using (var reader = await open.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                return (reader.GetString(0), DbTime.FromMicros(reader.GetInt64(1)));
            }
        }

        return (await InsertDigestAsync(connection, transaction, projectId, recipient, null, null, now, due, cancellationToken), due);
    }

    private static async Task RecordSendAsync(DbConnection connection, DbTransaction transaction, string projectId, string recipient, string messageId, DateTimeOffset sentAt, CancellationToken cancellationToken)
    {
        await using (var insert = Command(connection, transaction,
            "INSERT INTO alert_contact_sends (project_id, recipient, message_id, sent_at) VALUES (@p, @to, @mid, @at) ON CONFLICT DO NOTHING",
            ("@p", projectId), ("@to", recipient), ("@mid", messageId), ("@at", DbTime.ToMicros(sentAt))))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var prune = Command(connection, transaction,
            "DELETE FROM alert_contact_sends WHERE project_id = @p AND recipient = @to AND sent_at <= @old",
            ("@p", projectId), ("@to", recipient), ("@old", DbTime.ToMicros(sentAt - CapWindow)));
        await prune.ExecuteNonQueryAsync(cancellationToken);
    }

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
                var inDigest = reader.GetInt32(2) == InDigestState && !reader.IsDBNull(7);
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
