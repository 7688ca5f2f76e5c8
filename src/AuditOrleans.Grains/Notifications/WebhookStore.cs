using System.Data.Common;
using System.Globalization;
using AuditOrleans.Grains.Storage;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Webhook contacts over ADO.NET (table notification_webhooks, docs/webhooks.md): URLs and
/// secrets sealed by <see cref="WebhookKeys"/>, so the database alone reveals neither.
/// </summary>
public sealed class WebhookStore(AuditDatabase database, WebhookKeys keys)
{
    private const string Columns =
        "id, project_id, display_url, format, types, created_at, secret_fingerprint, secret_created_at, previous_secret, previous_expires_at";

    public async Task<IReadOnlyList<WebhookContact>> GetAsync(string projectId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {Columns} FROM notification_webhooks WHERE project_id = @p ORDER BY display_url, id", ("@p", projectId));
        var contacts = new List<WebhookContact>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            contacts.Add(Read(reader, now));
        }

        return contacts;
    }

    /// <summary>
    /// Adds the contact with <paramref name="secret"/> (format Json unless given), or for one
    /// already there adds the types and sets the format when given (its secret stays). Returns
    /// the stored contact and whether it is new.
    /// </summary>
    public Task<(WebhookContact Contact, bool Created)> UpsertAsync(string projectId, Uri url, WebhookFormat? format, NotificationType types, string secret, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var id = keys.ContactId(projectId, url.AbsoluteUri);
        return database.WriteAsync(async (connection, transaction) =>
        {
            bool created;
            await using (var update = Command(connection, transaction,
                "UPDATE notification_webhooks SET types = types | @t, format = COALESCE(@f, format) WHERE id = @id AND project_id = @p",
                ("@t", (int)types), ("@f", format is { } f ? (int)f : null), ("@id", id), ("@p", projectId)))
            {
                created = await update.ExecuteNonQueryAsync(cancellationToken) == 0;
            }

            if (created)
            {
                await using var insert = Command(connection, transaction,
                    "INSERT INTO notification_webhooks (id, project_id, url_sealed, display_url, format, types, created_at, secret_sealed, secret_fingerprint, secret_created_at, previous_secret, previous_expires_at) " +
                    "VALUES (@id, @p, @url, @display, @f, @t, @now, @secret, @fp, @now, NULL, NULL)",
                    ("@id", id), ("@p", projectId), ("@url", keys.Seal(url.AbsoluteUri, id, "url")), ("@display", WebhookTargetPolicy.Display(url)),
                    ("@f", (int)(format ?? WebhookFormat.Json)), ("@t", (int)types), ("@now", DbTime.ToMicros(now)),
                    ("@secret", keys.Seal(secret, id, "secret")), ("@fp", WebhookKeys.Fingerprint(secret)));
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            return ((await ReadOneAsync(connection, transaction, id, now, cancellationToken))!, created);
        }, cancellationToken);
    }

    public Task<bool> DeleteAsync(string projectId, string id, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var delete = Command(connection, transaction, "DELETE FROM notification_webhooks WHERE id = @id AND project_id = @p", ("@id", id), ("@p", projectId));
            return await delete.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    /// <summary>
    /// Makes <paramref name="secret"/> the contact's secret; the current one keeps signing until
    /// <paramref name="now"/> + <paramref name="grace"/> (not at all for a zero grace). Null when the contact does not exist.
    /// </summary>
    public Task<WebhookContact?> RotateAsync(string projectId, string id, string secret, TimeSpan grace, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            string current;
            await using (var read = Command(connection, transaction, "SELECT secret_sealed FROM notification_webhooks WHERE id = @id AND project_id = @p", ("@id", id), ("@p", projectId)))
            {
                if (await read.ExecuteScalarAsync(cancellationToken) is not string value)
                {
                    return null;
                }

                current = value;
            }

            // The previous secret is sealed under the column it now lives in.
            var previous = grace > TimeSpan.Zero ? keys.Seal(keys.Open(current, id, "secret"), id, "previous_secret") : null;
            await using (var update = Command(connection, transaction,
                "UPDATE notification_webhooks SET secret_sealed = @secret, secret_fingerprint = @fp, secret_created_at = @now, previous_secret = @prev, previous_expires_at = @until WHERE id = @id",
                ("@secret", keys.Seal(secret, id, "secret")), ("@fp", WebhookKeys.Fingerprint(secret)), ("@now", DbTime.ToMicros(now)),
                ("@prev", previous), ("@until", previous is null ? null : DbTime.ToMicros(now + grace)), ("@id", id)))
            {
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            return await ReadOneAsync(connection, transaction, id, now, cancellationToken);
        }, cancellationToken);

    /// <summary>The contact's URL, format and signing secrets at <paramref name="now"/>; null when it was removed.</summary>
    public async Task<WebhookTarget?> GetTargetAsync(string id, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT project_id, url_sealed, format, secret_sealed, previous_secret, previous_expires_at FROM notification_webhooks WHERE id = @id", ("@id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var secrets = new List<string>(2) { keys.Open(reader.GetString(3), id, "secret") };
        if (!reader.IsDBNull(4) && !reader.IsDBNull(5) && DbTime.FromMicros(reader.GetInt64(5)) > now)
        {
            secrets.Add(keys.Open(reader.GetString(4), id, "previous_secret"));
        }

        return new WebhookTarget(id, reader.GetString(0), new Uri(keys.Open(reader.GetString(1), id, "url")), (WebhookFormat)reader.GetInt32(2), secrets);
    }

    /// <summary>What the history shows for webhook recipients: "Format display-url" by contact id.</summary>
    public static async Task<Dictionary<string, string>> GetTargetsAsync(DbConnection connection, IEnumerable<string> ids, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var chunk in ids.Where(WebhookSecretLimits.IsWebhookId).Distinct(StringComparer.Ordinal).Chunk(500))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT id, format, display_url FROM notification_webhooks WHERE id IN ({Lifecycle.LifecycleStore.InList(command, chunk)})";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                result[reader.GetString(0)] = $"{(WebhookFormat)reader.GetInt32(1)} {reader.GetString(2)}";
            }
        }

        return result;
    }

    private static async Task<WebhookContact?> ReadOneAsync(DbConnection connection, DbTransaction transaction, string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"SELECT {Columns} FROM notification_webhooks WHERE id = @id", ("@id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader, now) : null;
    }

    private static WebhookContact Read(DbDataReader reader, DateTimeOffset now)
    {
        var expires = reader.IsDBNull(9) ? (DateTimeOffset?)null : DbTime.FromMicros(reader.GetInt64(9));
        var signing = expires > now && !reader.IsDBNull(8);
        return new WebhookContact(
            reader.GetString(1),
            reader.GetString(0),
            reader.GetString(2),
            (WebhookFormat)Convert.ToInt32(reader.GetValue(3), CultureInfo.InvariantCulture),
            (NotificationType)Convert.ToInt32(reader.GetValue(4), CultureInfo.InvariantCulture),
            DbTime.FromMicros(reader.GetInt64(5)),
            reader.GetString(6),
            DbTime.FromMicros(reader.GetInt64(7)))
        {
            PreviousSecretExpiresAt = signing ? expires : null,
        };
    }
}
