using System.Data.Common;
using AuditOrleans.Grains.Storage;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.Security;

/// <summary>The <c>api_keys</c> and <c>security_settings</c> tables (deploy/sql/*/002-security.sql) over ADO.NET.</summary>
public sealed class ApiKeyStore(AuditDatabase database)
{
    private const string Columns = "id, role, project_id, description, salt, hash, iterations, created_at, revoked_at";

    public async Task<StoredApiKey?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {Columns} FROM api_keys WHERE id = @id", ("@id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(bool includeRevoked, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            $"SELECT {Columns} FROM api_keys {(includeRevoked ? "" : "WHERE revoked_at IS NULL ")}ORDER BY created_at DESC, id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<ApiKeyInfo>();
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(Read(reader).Info);
        }

        return keys;
    }

    /// <summary>Adds a key; false when a key with that id already exists (it is left as it is, revoked or not).</summary>
    public Task<bool> InsertAsync(ApiKeyInfo info, string salt, string hash, int iterations, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var insert = Command(connection, transaction,
                $"INSERT INTO api_keys ({Columns}) VALUES (@id, @role, @p, @d, @salt, @hash, @it, @c, NULL) ON CONFLICT (id) DO NOTHING",
                ("@id", info.Id), ("@role", info.Role.ToString()), ("@p", info.ProjectId), ("@d", info.Description),
                ("@salt", salt), ("@hash", hash), ("@it", iterations), ("@c", DbTime.ToMicros(info.CreatedAt)));
            return await insert.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    /// <summary>Marks a key revoked; returns it, or null when no unrevoked key has that id.</summary>
    public Task<ApiKeyInfo?> RevokeAsync(string id, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using (var update = Command(connection, transaction,
                "UPDATE api_keys SET revoked_at = @t WHERE id = @id AND revoked_at IS NULL", ("@t", DbTime.ToMicros(now)), ("@id", id)))
            {
                if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    return null;
                }
            }

            await using var select = Command(connection, transaction, $"SELECT {Columns} FROM api_keys WHERE id = @id", ("@id", id));
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? Read(reader).Info : null;
        }, cancellationToken);

    /// <summary>Number of keys ever created (revoked included): zero only on a fresh installation.</summary>
    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT COUNT(*) FROM api_keys");
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Deletes a cluster-wide setting if it exists.</summary>
    public Task DeleteSettingAsync(string name, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var delete = Command(connection, transaction, "DELETE FROM security_settings WHERE name = @n", ("@n", name));
            return await delete.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static StoredApiKey Read(DbDataReader reader) => new(
        new ApiKeyInfo
        {
            Id = reader.GetString(0),
            Role = Enum.Parse<ApiKeyRole>(reader.GetString(1)),
            ProjectId = reader.IsDBNull(2) ? null : reader.GetString(2),
            Description = reader.IsDBNull(3) ? null : reader.GetString(3),
            CreatedAt = DbTime.FromMicros(reader.GetInt64(7)),
            RevokedAt = reader.IsDBNull(8) ? null : DbTime.FromMicros(reader.GetInt64(8)),
        },
        reader.GetString(4),
        reader.GetString(5),
        reader.GetInt32(6));
}
