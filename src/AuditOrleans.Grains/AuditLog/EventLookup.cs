using AuditOrleans.Grains.Storage;
using System.Data.Common;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// One event of the log with the check of its own link in its chain (docs/security.md, Tamper
/// evidence): its hash covers its stored content and its prev_hash, the event before it (or the
/// retention anchor, or the genesis) has that hash, and the event after it links to it. The
/// event detail page of the console shows it; the whole walk stays <see cref="ChainVerifier"/>'s.
/// </summary>
public sealed class EventLookup(AuditDatabase database)
{
    // The columns in ChainVerifier's order, so that its indexed-column check reads them.
    private const string Columns = "seq, event_id, recorded_at, principal_id, source_ip, product_name, method_name, status_code, payload, prev_hash, hash, ingested_at, region, kind";

    /// <summary>The event at a chain position, or null.</summary>
    public async Task<AuditEventDetail?> GetAsync(string projectId, string region, long sequence, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            $"SELECT {Columns} FROM audit_events WHERE project_id = @p AND region = @r AND seq = @s",
            ("@p", projectId), ("@r", region), ("@s", sequence));
        return await ReadAsync(connection, command, projectId, cancellationToken);
    }

    /// <summary>The event of a project with an id, or null.</summary>
    public async Task<AuditEventDetail?> FindAsync(string projectId, string eventId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            $"SELECT {Columns} FROM audit_events WHERE project_id = @p AND event_id = @id",
            ("@p", projectId), ("@id", eventId));
        return await ReadAsync(connection, command, projectId, cancellationToken);
    }

    private static async Task<AuditEventDetail?> ReadAsync(DbConnection connection, DbCommand command, string projectId, CancellationToken cancellationToken)
    {
        long seq;
        string region, payload, previousHash, hash, eventId;
        long ingestedAt;
        string? mismatch;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            seq = reader.GetInt64(0);
            eventId = reader.GetString(1);
            payload = reader.GetString(8);
            previousHash = reader.GetString(9);
            hash = reader.GetString(10);
            ingestedAt = reader.GetInt64(11);
            region = reader.GetString(12);
            mismatch = ChainVerifier.IndexedColumnMismatch(reader, payload);
        }

        var anchor = await ChainAnchors.ReadAnchorAsync(connection, projectId, region, cancellationToken);
        var head = await HeadAsync(connection, projectId, region, cancellationToken);
        var before = seq == 1 ? HashChain.Genesis
            : anchor is not null && anchor.Sequence == seq - 1 ? anchor.Hash
            : await TextAsync(connection, "SELECT hash FROM audit_events WHERE project_id = @p AND region = @r AND seq = @s", projectId, region, seq - 1, cancellationToken);
        var after = await TextAsync(connection, "SELECT prev_hash FROM audit_events WHERE project_id = @p AND region = @r AND seq = @s", projectId, region, seq + 1, cancellationToken);

        string? problem = null;
        if (!string.Equals(HashChain.Compute(projectId, region, seq, previousHash, payload), hash, StringComparison.Ordinal))
        {
            problem = "Its content does not match its hash: the event was edited, or events were swapped.";
        }
        else if (mismatch is not null)
        {
            problem = $"Column {mismatch} differs from the hashed content: the row was edited.";
        }
        else if (before is null)
        {
            problem = anchor is not null && anchor.Sequence >= seq
                ? $"It lies before the retention anchor (position {anchor.Sequence}): it should have been purged."
                : $"The event before it (position {seq - 1}) is missing: it was deleted.";
        }
        else if (!string.Equals(before, previousHash, StringComparison.Ordinal))
        {
            problem = "Its prev_hash is not the hash of the event before it: the chain was cut or reordered here.";
        }
        else if (after is not null && !string.Equals(after, hash, StringComparison.Ordinal))
        {
            problem = "The event after it does not link to it: the chain was cut or reordered here.";
        }
        else if (after is null && head is { } h && h > seq)
        {
            problem = $"The event after it (position {seq + 1}) is missing while the chain goes on to {h}: it was deleted.";
        }

        AuditEvent e;
        try
        {
            e = AuditEventJson.Parse(payload);
        }
        catch (FormatException)
        {
            e = new AuditEvent { Id = eventId };
            problem ??= "Its stored content is not an event.";
        }

        return new AuditEventDetail
        {
            Record = new AuditRecord(projectId, region, seq, e, DbTime.FromMicros(ingestedAt), hash),
            PreviousHash = previousHash,
            HeadSequence = head ?? seq,
            PurgedThroughSequence = anchor?.Sequence ?? 0,
            LinkVerified = problem is null,
            LinkProblem = problem,
        };
    }

    private static async Task<long?> HeadAsync(DbConnection connection, string projectId, string region, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null, "SELECT MAX(seq) FROM audit_events WHERE project_id = @p AND region = @r", ("@p", projectId), ("@r", region));
        return await command.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    private static async Task<string?> TextAsync(DbConnection connection, string sql, string projectId, string region, long seq, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null, sql, ("@p", projectId), ("@r", region), ("@s", seq));
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }
}
