using System.Buffers.Text;
using System.Security.Cryptography;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// The console's sessions in the silos' database (table <c>console_sessions</c>): one row per
/// signed-in session, keyed by the SHA-256 of its random id, deleted at sign-out and purged once
/// expired. Every silo of the database sees the same sessions.
/// </summary>
public sealed class ConsoleSessionStore(AuditDatabase database, TimeProvider time)
{
    /// <summary>Records a new session and returns its id (for the cookie only: the database keeps its hash).</summary>
    public async Task<string> CreateAsync(string keyId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var sessionId = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var now = time.GetUtcNow();
        await database.WriteAsync(async (connection, transaction) =>
        {
            // Sign-ins are rare: the moment to drop the sessions that expired meanwhile.
            await using (var purge = Db.Command(connection, transaction,
                "DELETE FROM console_sessions WHERE expires_at <= @now", ("@now", DbTime.ToMicros(now))))
            {
                await purge.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var insert = Db.Command(connection, transaction,
                "INSERT INTO console_sessions (session_hash, key_id, created_at, expires_at) VALUES (@hash, @key, @created, @expires)",
                ("@hash", Hash(sessionId)), ("@key", keyId), ("@created", DbTime.ToMicros(now)), ("@expires", DbTime.ToMicros(now + lifetime)));
            return await insert.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
        return sessionId;
    }

    /// <summary>True while the session exists and has not expired.</summary>
    public async Task<bool> IsActiveAsync(string sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Db.Command(connection, null,
            "SELECT 1 FROM console_sessions WHERE session_hash = @hash AND expires_at > @now",
            ("@hash", Hash(sessionId)), ("@now", DbTime.ToMicros(time.GetUtcNow())));
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Ends a session: its cookie opens nothing any more, on any silo.</summary>
    public Task EndAsync(string sessionId, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var delete = Db.Command(connection, transaction,
                "DELETE FROM console_sessions WHERE session_hash = @hash", ("@hash", Hash(sessionId)));
            return await delete.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static string Hash(string sessionId) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(sessionId)));
}
