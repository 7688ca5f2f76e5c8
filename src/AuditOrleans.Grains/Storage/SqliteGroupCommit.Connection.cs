using Microsoft.Data.Sqlite;

namespace AuditOrleans.Grains.Storage;

/// <summary>
/// The writer connection and its settings: no checkpoints of its own, a page cache for the index
/// pages of many project-regions, and the undo copies of its savepoints in memory
/// (docs/architecture.md, Persistence).
/// </summary>
internal sealed partial class SqliteGroupCommit
{
    /// <summary>
    /// Opens the writer connection. Its commits never checkpoint the write-ahead log: that is done
    /// in the background (<see cref="WalCheckpointer"/>), so that no append waits for it.
    /// </summary>
    private async Task<SqliteConnection> OpenWriterAsync()
    {
        var connection = (SqliteConnection)await open();
        await using (var pragma = connection.CreateCommand())
        {
            // A log that grew past WalCheckpointer.KeptLogBytes is cut back to that when it restarts
            // from its beginning; below, the file is kept and overwritten.
            // The page cache holds the index pages that appends to many project-regions touch
            // (SQLite's default of 2 MiB holds those of a few dozen only; see WriterCachePragma).
            // Each write of a group runs in a savepoint, whose undo copy of the pages it changes
            // (SQLite's statement journal) stays in memory (StatementJournalPragma).
            pragma.CommandText = FormattableString.Invariant($"PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit={WalCheckpointer.KeptLogBytes}; ") + WriterCachePragma + " " + StatementJournalPragma;
            await pragma.ExecuteNonQueryAsync();
        }

        checkpointer ??= new WalCheckpointer(connectionString, this, WalRestartFrames, logger);
        return connection;
    }

    /// <summary>
    /// The writer connection's page cache: 64 MiB, against SQLite's default of 2 MiB. Every
    /// append writes into the table and five indexes of its project-region, at the end of its
    /// range; with a few hundred project-regions active, the pages last touched no longer fit in
    /// 2 MiB and each insert reads them back from the file (README, Performance).
    /// </summary>
    public const string WriterCachePragma = "PRAGMA cache_size=-65536;";

    /// <summary>
    /// The writer connection's temporary files in memory. A group runs each write in a savepoint
    /// so that one failure is undone alone; for that SQLite keeps the original of every page the
    /// write changes, and past 64 KiB (an append of a few dozen events, with its indexes) it
    /// spilled that copy to a temporary file: under bulk ingestion, more writes to that file than
    /// to the log itself, all on the writer thread (docs/architecture.md, Persistence: Durability).
    /// The copy lasts until the write's savepoint is released, so it holds one write's pages at most.
    /// </summary>
    public const string StatementJournalPragma = "PRAGMA temp_store=MEMORY;";
}
