using AuditOrleans.Grains.Storage;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// The notification contacts of each project (email addresses and the notification types they
/// receive) over ADO.NET (docs/alerts.md).
/// </summary>
public sealed class NotificationContactStore(AuditDatabase database)
{
    /// <summary>The project's contacts, by email address.</summary>
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

    /// <summary>Removes a contact; false when the project has no such contact.</summary>
    public Task<bool> DeleteContactAsync(string projectId, string email, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var delete = Command(connection, transaction,
                "DELETE FROM notification_contacts WHERE project_id = @p AND email = @e", ("@p", projectId), ("@e", email));
            return await delete.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);
}
