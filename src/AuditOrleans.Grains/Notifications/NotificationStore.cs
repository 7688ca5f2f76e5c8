using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AuditOrleans.Grains.Storage;
using static AuditOrleans.Grains.Notifications.FiredAlertRows;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// The outbox over ADO.NET: the deliveries and digests due, the outcome of each attempt, and the
/// per-contact email cap that defers emails into a merged digest (docs/alerts.md, Grouping and
/// The email cap). Every decision is read from and written to the database in the outbox's
/// transaction, so a restart changes none. Firings are recorded by <see cref="FiringRecorder"/>,
/// contacts kept by <see cref="NotificationContactStore"/>, the history read by
/// <see cref="AlertHistoryReader"/>.
/// </summary>
public sealed class NotificationStore(AuditDatabase database)
{
    /// <summary>alert_deliveries.state of a firing whose email to the recipient is a digest (alert_digest_members names it).</summary>
    public const int InDigestState = 4;

    /// <summary>The window of the email cap.</summary>
    public static readonly TimeSpan CapWindow = TimeSpan.FromHours(1);

    /// <summary>True for the firings whose emails are grouped: the single-event alerts', tests excepted.</summary>
    public static bool IsGrouped(FiredAlert alert) => !alert.IsTest && alert.Alert != AlertName.HttpForbiddenErrorRateHigh;

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

    /// <summary>Deliveries of their own (not carried by a digest) whose next attempt is due at <paramref name="now"/>, oldest first.</summary>
    public async Task<IReadOnlyList<DueDelivery>> GetDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
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
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
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
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
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
        }, WritePriority.Alert, cancellationToken);

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
        }, WritePriority.Alert, cancellationToken);

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
        }, WritePriority.Alert, cancellationToken);

    /// <summary>The firings a digest carries, oldest event first (at most <paramref name="limit"/>), and how many it carries in all.</summary>
    public async Task<(IReadOnlyList<FiredAlert> Firings, int Total)> GetDigestFiringsAsync(string digestId, int limit, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
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
        await using var lease = await database.RentReaderAsync(cancellationToken);
        var connection = lease.Connection;
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
        }, WritePriority.Alert, cancellationToken);

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
        }, WritePriority.Alert, cancellationToken);

    /// <summary>Moves a merged digest that is due while the cap is still reached to <paramref name="due"/>.</summary>
    public Task PostponeDigestAsync(DueDigest digest, DateTimeOffset due, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var update = Command(connection, transaction,
                "UPDATE alert_digests SET due_at = @due, next_attempt_at = @due WHERE id = @d AND state = 0 AND attempts = 0", ("@due", DbTime.ToMicros(due)), ("@d", digest.Id));
            return await update.ExecuteNonQueryAsync(cancellationToken);
        }, WritePriority.Alert, cancellationToken);


    /// <summary>Opens a digest of <paramref name="recipient"/>'s emails, due at <paramref name="due"/>; returns its id.</summary>
    internal static async Task<string> InsertDigestAsync(
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

    /// <summary>Makes <paramref name="digestId"/> carry the firing's email to <paramref name="recipient"/>.</summary>
    internal static async Task AddMemberAsync(DbConnection connection, DbTransaction transaction, string alertId, string recipient, string digestId, CancellationToken cancellationToken)
    {
        await using var member = Command(connection, transaction,
            "INSERT INTO alert_digest_members (alert_id, recipient, digest_id) VALUES (@a, @to, @d)", ("@a", alertId), ("@to", recipient), ("@d", digestId));
        await member.ExecuteNonQueryAsync(cancellationToken);
    }


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
}
