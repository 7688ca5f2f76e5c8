using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditOrleans.Grains.Storage;

/// <summary>A queued write of <c>AuditDatabase.WriteAsync</c>.</summary>
internal abstract class PendingWrite
{
    private const int Queued = 0;
    private const int Taken = 1;
    private const int Cancelled = 2;

    private int state;

    /// <summary>Claims the work for a group; false when its caller gave up first.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref state, Taken, Queued) == Queued;

    /// <summary>Withdraws the work; false when a group already took it.</summary>
    public bool TryCancel() => Interlocked.CompareExchange(ref state, Cancelled, Queued) == Queued;

    public abstract Task RunAsync(DbConnection connection, DbTransaction transaction);

    /// <summary>Reports the result of <see cref="RunAsync"/> once its transaction is committed.</summary>
    public abstract void Complete();

    public abstract void Fail(Exception exception);
}

/// <summary>
/// A turn between two write groups for a writer with a connection of its own
/// (<c>SqliteGroupCommit.ExclusiveAsync</c>): the writer thread starts it and waits for its end.
/// </summary>
internal sealed class ExclusiveTurn
{
    private readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int state;

    public Task Started => started.Task;

    public ManualResetEventSlim Ended { get; } = new();

    /// <summary>Called by the writer thread: the turn begins, unless its caller gave up first.</summary>
    public void Start()
    {
        if (Interlocked.CompareExchange(ref state, 1, 0) == 0)
        {
            started.TrySetResult();
        }
        else
        {
            Ended.Set();
        }
    }

    /// <summary>The caller gave up before its turn came: the writer thread skips it.</summary>
    public void TryCancel()
    {
        if (Interlocked.CompareExchange(ref state, 2, 0) == 0)
        {
            started.TrySetCanceled();
        }
    }

    public void End() => Ended.Set();

    public void Refuse(Exception exception)
    {
        if (Interlocked.CompareExchange(ref state, 2, 0) == 0)
        {
            started.TrySetException(exception);
        }
    }
}

internal sealed class PendingWrite<T>(Func<DbConnection, DbTransaction, Task<T>> work) : PendingWrite
{
    private readonly TaskCompletionSource<T> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private T? result;

    public Task<T> Completion => completion.Task;

    public override async Task RunAsync(DbConnection connection, DbTransaction transaction) => result = await work(connection, transaction);

    public override void Complete() => completion.TrySetResult(result!);

    public override void Fail(Exception exception) => completion.TrySetException(exception);

    public void Cancel(CancellationToken cancellationToken) => completion.TrySetCanceled(cancellationToken);
}
