namespace AuditOrleans.Grains.Storage;

/// <summary>
/// Turns between two groups for writers with a connection of their own: Orleans' grain storage
/// (<see cref="ExclusiveAsync"/>) and the WAL checkpointer's restarts of the log
/// (<see cref="Exclusive"/>). The writer thread starts a waiting turn before the next normal
/// group, never before a waiting alert, and waits for its end (docs/architecture.md, Persistence).
/// The checkpointer may also pause the normal writes while alerts go on (<see cref="WithNormalWritesPaused"/>).
/// </summary>
internal sealed partial class SqliteGroupCommit
{
    /// <summary>
    /// Runs <paramref name="work"/> between two groups, the writer thread waiting meanwhile: for a
    /// writer with its own connection (Orleans' grain storage), which would otherwise wait for the
    /// database's write lock in SQLite's busy handler, blocking its thread, while the groups follow
    /// each other.
    /// </summary>
    public async Task ExclusiveAsync(Func<Task> work, CancellationToken cancellationToken)
    {
        var turn = QueueTurn(cancellationToken);
        await using (cancellationToken.Register(static t => ((ExclusiveTurn)t!).TryCancel(), turn))
        {
            await turn.Started;
        }

        try
        {
            await work();
        }
        finally
        {
            // The work may have committed on its own connection.
            Interlocked.Increment(ref commits);
            turn.End();
        }
    }

    /// <summary>
    /// <see cref="ExclusiveAsync"/> for a thread of the silo's own that may block (the WAL
    /// checkpointer): waits for the turn, then runs <paramref name="work"/> on the calling thread.
    /// </summary>
    public void Exclusive(Action work, CancellationToken cancellationToken)
    {
        var turn = QueueTurn(cancellationToken);
        try
        {
            turn.Started.Wait(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Given up before the turn came (the writer thread then skips it), unless it had just begun.
            turn.TryCancel();
            if (!turn.Started.IsCompletedSuccessfully)
            {
                throw;
            }
        }

        try
        {
            work();
        }
        finally
        {
            turn.End();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the calling thread while the writer thread starts no group
    /// of normal writes: it begins between two groups, and alert writes and turns go on meanwhile.
    /// For the checkpointer's restart of the log: the copy of the last pages and the sync of the
    /// database file happen with only alerts committing, so that the restart itself, in a turn,
    /// has nothing left to copy (docs/architecture.md, Persistence: Checkpoints).
    /// </summary>
    public void WithNormalWritesPaused(Action work, CancellationToken cancellationToken)
    {
        Exclusive(() =>
        {
            lock (pending)
            {
                normalPaused = true;
            }
        }, cancellationToken);

        try
        {
            work();
        }
        finally
        {
            lock (pending)
            {
                normalPaused = false;
                Monitor.Pulse(pending);
            }
        }
    }

    private ExclusiveTurn QueueTurn(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var turn = new ExclusiveTurn();
        lock (pending)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            turns.Enqueue(turn);
            Signal();
        }

        return turn;
    }
}
