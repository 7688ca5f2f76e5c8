using System.Collections.Concurrent;
using AuditOrleans.Grains.Storage;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// The thread of one SMTP session (docs/architecture.md, The path of one event: MailSender): it
/// runs the session's blocking MailKit calls, one at a time and in order, so that the exchange
/// with the server (each reply read, each line written) never waits for a thread-pool worker
/// behind the silo's bulk ingestion. It starts with the session's first call and runs ahead of
/// the pool where the system allows (<see cref="RaisedThreadPriority"/>). Callers await a task
/// whose continuation runs elsewhere, never on this thread.
/// </summary>
internal sealed class SessionThread : IDisposable
{
    /// <summary>The thread's name (Linux shows its first 15 characters).</summary>
    public const string Name = "AuditOrleans SMTP";

    private readonly BlockingCollection<Action> calls = [];
    private readonly Lock starting = new();
    private Thread? thread;

    /// <summary>True once the thread has run a call (a session that never sent has no thread).</summary>
    public bool Started => thread is not null;

    /// <summary>Runs <paramref name="call"/> on the session's thread, after the calls queued before it.</summary>
    public Task<T> RunAsync<T>(Func<T> call)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        calls.Add(() =>
        {
            try
            {
                done.TrySetResult(call());
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        });

        lock (starting)
        {
            if (thread is null)
            {
                thread = new Thread(Run) { IsBackground = true, Name = Name };
                thread.Start();
            }
        }

        return done.Task;
    }

    /// <summary>Lets the thread end once the calls already queued have run.</summary>
    public void Dispose() => calls.CompleteAdding();

    private void Run()
    {
        RaisedThreadPriority.TryRaise();
        foreach (var call in calls.GetConsumingEnumerable())
        {
            call();
        }

        calls.Dispose();
    }
}
