using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Storage;

/// <summary>
/// SQLite's one writer (docs/architecture.md, Persistence): writers queue their work, and a
/// thread of its own runs the queued work items in one transaction on the one writer connection,
/// each in its own savepoint, then commits once. A work item that fails is rolled back to its
/// savepoint and fails alone; the others are committed. Each caller's task completes after the
/// commit that holds its work, so durability is unchanged, while concurrent writers (the
/// detectors of many project-regions) share one fsync instead of paying one each. Writes that
/// record a firing have a lane of their own (<see cref="WritePriority.Alert"/>), and the
/// write-ahead log is checkpointed in the background (<see cref="WalCheckpointer"/>).
/// </summary>
/// <remarks>
/// The writer runs on its own thread, not on the thread pool: SQLite's calls block (the inserts,
/// the fsync of each commit), and under bulk ingestion the writer is busy most of the time. On
/// the pool it held one of the few worker threads (as many as cores) nearly all the time, and a
/// caller that took the writer's turn kept running the next groups while the grains whose
/// writes had just committed, among them an alert's detector, waited for a free thread (README,
/// Performance: Detection under load).
/// </remarks>
internal sealed partial class SqliteGroupCommit(Func<Task<DbConnection>> open, string connectionString, ILogger logger) : IDisposable
{
    private readonly Queue<PendingWrite> pending = new();

    // Writes that record firings: committed before the normal queue (guarded by the lock on pending).
    private readonly Queue<PendingWrite> alerts = new();

    // Writers with a connection of their own waiting for a turn between two groups (ExclusiveAsync).
    private readonly Queue<ExclusiveTurn> turns = new();
    private bool lastGroupWasAlert;

    // While set, only alert groups and turns run (WithNormalWritesPaused); guarded by the lock on pending.
    private bool normalPaused;
    private long commits;
    private SqliteConnection? writer;
    private WalCheckpointer? checkpointer;
    private Thread? thread;
    private bool disposed;

    /// <summary>Passed to the checkpointer: the log's length, in pages, past which it is started again; <see langword="null"/>: <see cref="WalCheckpointer.RestartBytes"/> in the database's pages.</summary>
    public long? WalRestartFrames { get; init; }

    /// <summary>Times the checkpointer started the log again from its beginning.</summary>
    public long WalRestarts => checkpointer?.Restarts ?? 0;

    /// <summary>Of <see cref="WalRestarts"/>, those for which every write waited while the last pages were copied and the database file synced.</summary>
    public long WalHeldRestarts => checkpointer?.HeldRestarts ?? 0;

    /// <summary>
    /// Commits made so far: the groups' own, and one for every turn of a writer with its own
    /// connection (which may have committed). The checkpointer compares two readings to know that
    /// nothing was written between them.
    /// </summary>
    public long Commits => Interlocked.Read(ref commits);

    public Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, WritePriority priority, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var write = new PendingWrite<T>(work);
        lock (pending)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            (priority == WritePriority.Alert ? alerts : pending).Enqueue(write);
            Signal();
        }

        if (!cancellationToken.CanBeCanceled)
        {
            return write.Completion;
        }

        return WithCancellationAsync(write, cancellationToken);
    }

    /// <summary>
    /// Stops taking work, lets the group that is running finish (its transaction is committed or
    /// rolled back on the writer thread, never cut from this one), then closes the writer and stops
    /// the checkpointer. Work still queued fails with <see cref="ObjectDisposedException"/>. A silo
    /// that stops while its writes run must leave no connection behind that still holds the
    /// database's write lock for the next silo on the same file.
    /// </summary>
    public void Dispose()
    {
        Thread? running;
        lock (pending)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            running = thread;
            Monitor.PulseAll(pending);
        }

        if (running is not null && running != Thread.CurrentThread && !running.Join(TimeSpan.FromSeconds(10)))
        {
            LogWriterStuck(logger);
        }

        FailQueued(new ObjectDisposedException(nameof(SqliteGroupCommit)));
    }

    private static async Task<T> WithCancellationAsync<T>(PendingWrite<T> write, CancellationToken cancellationToken)
    {
        // A write that no group has taken yet is withdrawn; once taken, its group's commit decides.
        await using (cancellationToken.Register(static state =>
        {
            var (w, token) = ((PendingWrite<T>, CancellationToken))state!;
            if (w.TryCancel())
            {
                w.Cancel(token);
            }
        }, (write, cancellationToken)))
        {
            return await write.Completion;
        }
    }

    /// <summary>Wakes the writer thread, starting it on the first write; called with the lock on pending held.</summary>
    private void Signal()
    {
        if (thread is null)
        {
            thread = new Thread(Run) { IsBackground = true, Name = "AuditOrleans SQLite writer" };
            thread.Start();
        }

        Monitor.Pulse(pending);
    }

    /// <summary>The writer thread: a group, or a turn between groups, for as long as there is work.</summary>
    private void Run()
    {
        if (RaisedThreadPriority.TryRaise())
        {
            LogPriorityRaised(logger, RaisedThreadPriority.Nice);
        }
        else
        {
            LogPriorityRefused(logger);
        }

        try
        {
            while (true)
            {
                ExclusiveTurn? turn = null;
                lock (pending)
                {
                    while (!disposed && alerts.Count == 0 && turns.Count == 0 && (pending.Count == 0 || normalPaused))
                    {
                        Monitor.Wait(pending);
                    }

                    if (disposed)
                    {
                        break;
                    }

                    // A waiting turn goes before the next normal group, never before an alert.
                    if (alerts.Count == 0 && turns.Count > 0)
                    {
                        turn = turns.Dequeue();
                    }
                }

                if (turn is not null)
                {
                    // The turn's own writer runs on its caller's thread; this one waits for it to end.
                    turn.Start();
                    turn.Ended.Wait();
                    continue;
                }

                try
                {
                    CommitPendingAsync().GetAwaiter().GetResult();
                }
                catch (Exception ex)
                {
                    // CommitPendingAsync fails its own group's writes; whatever else went wrong must not end the writer.
                    LogGroupFailed(logger, ex);
                }
            }
        }
        finally
        {
            checkpointer?.Dispose();
            checkpointer = null;
            writer?.Dispose();
            writer = null;
        }
    }

    private void FailQueued(Exception exception)
    {
        lock (pending)
        {
            foreach (var write in alerts.Concat(pending))
            {
                if (write.TryTake())
                {
                    write.Fail(exception);
                }
            }

            alerts.Clear();
            pending.Clear();
            while (turns.TryDequeue(out var turn))
            {
                turn.Refuse(exception);
            }
        }
    }

    /// <summary>
    /// Runs queued writes in one transaction and commits them; called on the writer thread.
    /// Alert writes go first: waiting alerts form a group of their own, and a group of normal
    /// writes that is running when one arrives takes it as its last write and commits, so that
    /// the alert waits for at most the normal write in progress, not for a commit of its own
    /// after the group's. A normal group always takes at least one write.
    /// </summary>
    private async Task CommitPendingAsync()
    {
        var group = new List<PendingWrite>();
        bool alertGroup;
        int size;
        lock (pending)
        {
            // Alert groups and normal groups alternate while both queues hold work, so that a
            // stream of firings cannot starve the normal writes; while normal writes are paused,
            // the writer thread comes here only for alerts.
            alertGroup = alerts.Count > 0 && (normalPaused || !(lastGroupWasAlert && pending.Count > 0));
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
            var last = false;
            while (!last && TakeNext(alertGroup, group.Count, size, out last) is { } write)
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
            Interlocked.Increment(ref commits);
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
    /// takes alert writes only; a normal group that holds work and finds an alert write waiting
    /// takes that alert as its <paramref name="last"/> write, even when it already holds the
    /// <paramref name="size"/> it started with.
    /// </summary>
    private PendingWrite? TakeNext(bool alertGroup, int taken, int size, out bool last)
    {
        lock (pending)
        {
            last = !alertGroup && taken > 0 && alerts.Count > 0;
            if (!last && taken >= size)
            {
                return null;
            }

            var queue = alertGroup || last ? alerts : pending;
            while (queue.TryDequeue(out var next))
            {
                if (next.TryTake())
                {
                    return next;
                }
            }

            // Every waiting alert had been withdrawn by its caller: the group ends here.
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "The SQLite writer thread runs ahead of the thread pool (Linux nice {Nice})")]
    private static partial void LogPriorityRaised(ILogger logger, int nice);

    [LoggerMessage(Level = LogLevel.Information, Message = "The SQLite writer thread could not be given a higher priority (Linux: the process lacks CAP_SYS_NICE); it runs at normal priority, and alerts wait longer while bulk ingestion keeps the cores busy")]
    private static partial void LogPriorityRefused(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "A SQLite write group failed outside its work items; the writer goes on with the next group")]
    private static partial void LogGroupFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "The SQLite writer thread did not finish its group within 10 s of the database being closed")]
    private static partial void LogWriterStuck(ILogger logger);

    /// <summary>Errors after which nothing more can be done in the transaction (I/O, full disk, corruption).</summary>
    private static bool IsConnectionFatal(DbException ex) =>
        ex is SqliteException { SqliteErrorCode: 10 or 11 or 13 or 26 or 7 };
}
