using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Storage;

/// <summary>
/// SQLite's one writer (docs/architecture.md, Persistence): writers queue their work, and
/// whichever holds the write gate runs the queued work items in one transaction on the one writer
/// connection, each in its own savepoint, then commits once. A work item that fails is rolled back
/// to its savepoint and fails alone; the others are committed. Each caller returns after the
/// commit that holds its work, so durability is unchanged, while concurrent writers (the detectors
/// of many project-regions) share one fsync instead of paying one each. Writes that record a
/// firing have a lane of their own (<see cref="WritePriority.Alert"/>), and the write-ahead log is
/// checkpointed in the background (<see cref="WalCheckpointer"/>).
/// </summary>
internal sealed class SqliteGroupCommit(Func<Task<DbConnection>> open, string connectionString, ILogger logger) : IDisposable
{
    private readonly SemaphoreSlim writeGate = new(1, 1);
    private readonly Queue<PendingWrite> pending = new();

    // Writes that record firings: committed before the normal queue (guarded by the lock on pending).
    private readonly Queue<PendingWrite> alerts = new();
    private bool lastGroupWasAlert;
    private SqliteConnection? writer;
    private WalCheckpointer? checkpointer;
    private volatile bool disposed;

    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, WritePriority priority, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var write = new PendingWrite<T>(work);
        lock (pending)
        {
            (priority == WritePriority.Alert ? alerts : pending).Enqueue(write);
        }

        while (!write.Completion.IsCompleted)
        {
            try
            {
                await writeGate.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (write.TryCancel())
            {
                throw;
            }
            catch (OperationCanceledException)
            {
                // Another writer already took this work: its commit decides the outcome.
                break;
            }

            try
            {
                if (!write.Completion.IsCompleted)
                {
                    await CommitPendingAsync();
                }
            }
            finally
            {
                writeGate.Release();
            }
        }

        return await write.Completion;
    }

    /// <summary>
    /// Runs <paramref name="work"/> between two groups, holding the write gate: for a writer with
    /// its own connection (Orleans' grain storage), which would otherwise wait for the database's
    /// write lock in SQLite's busy handler, blocking its thread, while the groups follow each other.
    /// </summary>
    public async Task ExclusiveAsync(Func<Task> work, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        await writeGate.WaitAsync(cancellationToken);
        try
        {
            await work();
        }
        finally
        {
            writeGate.Release();
        }
    }

    /// <summary>
    /// Stops taking work, lets a group that is running finish (its transaction is committed or
    /// rolled back on its own thread, never cut from this one), then closes the writer and stops
    /// the checkpointer. A silo that stops while its writes run must not leave a connection
    /// behind that still holds the database's write lock for the next silo on the same file.
    /// </summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        var idle = writeGate.Wait(TimeSpan.FromSeconds(10));
        checkpointer?.Dispose();
        checkpointer = null;
        writer?.Dispose();
        writer = null;
        if (idle)
        {
            writeGate.Release();
        }
    }

    /// <summary>
    /// Runs queued writes in one transaction and commits them; called with the write gate held.
    /// Alert writes go first, in a group of their own; a group of normal writes takes them one
    /// at a time and ends early when an alert write is waiting, so that the alert waits for at
    /// most one normal write and one commit. A normal group always takes at least one write.
    /// </summary>
    private async Task CommitPendingAsync()
    {
        var group = new List<PendingWrite>();
        bool alertGroup;
        int size;
        lock (pending)
        {
            // Alert groups and normal groups alternate while both queues hold work, so that a
            // stream of firings cannot starve the normal writes.
            alertGroup = alerts.Count > 0 && !(lastGroupWasAlert && pending.Count > 0);
            lastGroupWasAlert = alertGroup;

            // The group takes at most what is queued now: later writes wait for the next group, so
            // that the database's write lock is let go between groups however busy the queue is.
            size = Math.Clamp((alertGroup ? alerts : pending).Count, 1, AuditDatabase.MaxGroupSize);
        }

        // The group's transaction must not be cut short by one caller's cancellation.
        var none = CancellationToken.None;
        var succeeded = new List<PendingWrite>();
        DbTransaction? transaction = null;
        var failed = false;
        try
        {
            while (group.Count < size && TakeNext(alertGroup, group.Count > 0) is { } write)
            {
                group.Add(write);
                writer ??= await OpenWriterAsync();
                transaction ??= await writer.BeginTransactionAsync(IsolationLevel.ReadCommitted, none);
                await transaction.SaveAsync("w", none);
                try
                {
                    await write.RunAsync(writer, transaction);
                    await transaction.ReleaseAsync("w", none);
                    succeeded.Add(write);
                }
                catch (Exception ex) when (ex is not DbException { } db || !IsConnectionFatal(db))
                {
                    // Undo this work only; the others of the group go on.
                    await transaction.RollbackAsync("w", none);
                    await transaction.ReleaseAsync("w", none);
                    write.Fail(ex);
                }
            }

            if (transaction is null)
            {
                return;
            }

            await transaction.CommitAsync(none);
        }
        catch (Exception ex)
        {
            foreach (var write in group)
            {
                write.Fail(ex);
            }

            failed = true;
            return;
        }
        finally
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync();
            }

            if (failed)
            {
                // The connection's state is unknown after a failed commit: start the next group on a new one.
                writer?.Dispose();
                writer = null;
            }
        }

        foreach (var write in succeeded)
        {
            write.Complete();
        }
    }

    /// <summary>
    /// The next write for the running group, or null when the group is complete: an alert group
    /// takes alert writes only; a normal group stops once it holds work and an alert write waits.
    /// </summary>
    private PendingWrite? TakeNext(bool alertGroup, bool holdsWork)
    {
        lock (pending)
        {
            if (!alertGroup && holdsWork && alerts.Count > 0)
            {
                return null;
            }

            var queue = alertGroup ? alerts : pending;
            while (queue.TryDequeue(out var next))
            {
                if (next.TryTake())
                {
                    return next;
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Opens the writer connection. Its commits never checkpoint the write-ahead log: that is done
    /// in the background (<see cref="WalCheckpointer"/>), so that no append waits for it.
    /// </summary>
    private async Task<SqliteConnection> OpenWriterAsync()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var connection = (SqliteConnection)await open();
        await using (var pragma = connection.CreateCommand())
        {
            // A log that grew in a burst is cut back to 64 MiB when it restarts from its beginning.
            pragma.CommandText = "PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=67108864;";
            await pragma.ExecuteNonQueryAsync();
        }

        checkpointer ??= new WalCheckpointer(connectionString, logger);
        return connection;
    }

    /// <summary>Errors after which nothing more can be done in the transaction (I/O, full disk, corruption).</summary>
    private static bool IsConnectionFatal(DbException ex) =>
        ex is SqliteException { SqliteErrorCode: 10 or 11 or 13 or 26 or 7 };
}
