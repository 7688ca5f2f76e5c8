using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Storage;

/// <summary>
/// Checkpoints the SQLite write-ahead log on a thread of its own (docs/architecture.md,
/// Persistence: Checkpoints). Left to SQLite, the commit that makes the log reach 1,000 pages
/// copies the whole log into the database file and syncs it before it returns, so one append in
/// a few hundred (and the alert it carries) pays for everyone's writes. The writer connection
/// turns that off; this thread runs a PASSIVE checkpoint a few times a second instead, which
/// neither waits for nor blocks readers and the writer. Durability is unchanged: a commit is on
/// disk once it is in the log; a checkpoint only moves it into the database file.
/// </summary>
/// <remarks>
/// SQLite writes the log again from its beginning only when a write finds all of it copied into
/// the database file, and a PASSIVE checkpoint never gets there while the writer keeps committing
/// during it: under steady ingestion the log grew without end (about 45 MB/s at 3,000 events/s in
/// the bench, 130 MB/s at 8,000), and every lookup in it got slower. Once the log holds
/// <see cref="RestartBytes"/>, the checkpointer catches up with back-to-back passes, then pauses
/// the normal writes (alerts go on) and copies the last pages and syncs the database file; if no
/// commit came meanwhile, it asks the writer thread for a turn between two groups (never before a
/// waiting alert) and runs a RESTART checkpoint in it, which then has nothing to copy or sync:
/// it waits at most <see cref="RestartBusyMilliseconds"/> for readers of the old log, and the next
/// commit writes the log from its beginning. When commits came during every such pass of
/// <see cref="QuietAttempts"/> attempts (a stream of alerts), or the log reached twice the
/// threshold meanwhile, the restart is done with every write waiting for the copy and the sync,
/// as it was before the pause. The file itself is kept, up to 512 MiB, so that the next commits overwrite it
/// instead of growing it again (docs/architecture.md, Persistence: Checkpoints).
/// </remarks>
internal sealed partial class WalCheckpointer : IDisposable
{
    /// <summary>How often the log is checkpointed.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The log's length past which it is started again: 256 MiB (16,384 pages of 16 KiB, 65,536 of
    /// 4 KiB in a database created before the larger pages), a restart every 2 to 3 s at 9,000
    /// events/s. Each restart pauses the normal writes for a few to tens of milliseconds (the pages
    /// committed since the last pass, and the sync of the database file), so a shorter log pauses
    /// them more often (at 64 MiB, twice a second at 8,000 events/s).
    /// </summary>
    public const long RestartBytes = 256L * 1024 * 1024;

    /// <summary>
    /// The log file's largest size kept after a restart (the writer's <c>journal_size_limit</c>):
    /// twice <see cref="RestartBytes"/>, so that the next commits overwrite the file instead of
    /// growing it again, and a log that grew past it while a reader held it is cut back.
    /// </summary>
    public const long KeptLogBytes = 512L * 1024 * 1024;

    /// <summary>How long a restart waits for readers still in the old log before leaving it to a later pass.</summary>
    public const int RestartBusyMilliseconds = 10;

    /// <summary>Passes run back to back before a restart, each copying what the writer committed during the one before.</summary>
    private const int CatchUpPasses = 4;

    /// <summary>A pass that copies fewer new pages than this has caught up: the restart's turn follows.</summary>
    private const long CaughtUpFrames = 256;

    /// <summary>Passes tried with the normal writes paused, each followed by a restart unless an alert committed during it.</summary>
    private const int QuietPasses = 3;

    /// <summary>Attempts (one every <see cref="Interval"/>) of <see cref="QuietPasses"/> each before a restart that holds every write.</summary>
    private const int QuietAttempts = 4;

    /// <summary>How long after a restart that readers kept from finishing the next one is tried.</summary>
    private static readonly TimeSpan RestartRetry = TimeSpan.FromSeconds(5);

    private readonly string connectionString;
    private readonly SqliteGroupCommit writer;
    private readonly long? restartFramesSet;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stopping = new();
    private readonly Thread thread;
    private long restartFrames;
    private bool failing;
    private long restarts;
    private long heldRestarts;
    private int quietFailures;
    private long nextRestart;

    // The log's length at the last restart. Until the writer's next commit writes the log from its
    // beginning, SQLite still reports that length, all copied, and another restart would redo
    // nothing (an idle silo took a writer turn every pass for it).
    private long restartedAtFrames = -1;

    /// <summary>Starts the checkpointer's thread.</summary>
    /// <param name="connectionString">The database's connection string (the checkpointer opens its own connection).</param>
    /// <param name="writer">The writer thread, whose turn a restart takes.</param>
    /// <param name="restartFrames">The log's length in pages past which it is restarted; <see langword="null"/>: <see cref="RestartBytes"/> in the database's pages.</param>
    /// <param name="logger">Where a failing checkpoint is reported.</param>
    public WalCheckpointer(string connectionString, SqliteGroupCommit writer, long? restartFrames, ILogger logger)
    {
        this.connectionString = connectionString;
        this.writer = writer;
        restartFramesSet = restartFrames;
        this.logger = logger;
        thread = new Thread(Run) { IsBackground = true, Name = "AuditOrleans WAL checkpoint" };
        thread.Start();
    }

    /// <summary>Checkpoints done since start (for tests and diagnostics).</summary>
    public long Checkpoints { get; private set; }

    /// <summary>Times the log was started again from its beginning.</summary>
    public long Restarts => Interlocked.Read(ref restarts);

    /// <summary>Of <see cref="Restarts"/>, those that held every write while the last pages were copied and synced.</summary>
    public long HeldRestarts => Interlocked.Read(ref heldRestarts);

    public void Dispose()
    {
        stopping.Cancel();
        thread.Join(TimeSpan.FromSeconds(5));
        stopping.Dispose();
    }

    private void Run()
    {
        // As far ahead of the pool as the writer (which starts this thread, and on Linux passes its
        // priority on anyway): the sooner a pass ends, the fewer pages a restart copies while the
        // writer waits for it.
        RaisedThreadPriority.TryRaise();
        SqliteConnection? connection = null;
        try
        {
            while (!stopping.Token.WaitHandle.WaitOne(Interval))
            {
                try
                {
                    connection ??= Open();
                    var pass = Checkpoint(connection, "PASSIVE");
                    Checkpoints++;
                    failing = false;
                    var unusedSinceRestart = pass.Frames == restartedAtFrames && pass.Copied == pass.Frames;
                    if (pass.Frames >= restartFrames && !unusedSinceRestart && Environment.TickCount64 >= nextRestart)
                    {
                        Restart(connection, pass);
                    }
                }
                catch (SqliteException ex)
                {
                    // The next writer commit still lands in the log; a log that keeps growing is the only cost.
                    if (!failing)
                    {
                        LogCheckpointFailed(logger, ex);
                        failing = true;
                    }

                    connection?.Dispose();
                    connection = null;
                }
            }
        }
        finally
        {
            connection?.Dispose();
        }
    }

    /// <summary>Starts the log again from its beginning (see the remarks).</summary>
    private void Restart(SqliteConnection connection, (long Busy, long Frames, long Copied) pass)
    {
        for (var i = 0; i < CatchUpPasses; i++)
        {
            var before = pass.Copied;
            pass = Checkpoint(connection, "PASSIVE");
            if (pass.Copied - before < CaughtUpFrames)
            {
                break;
            }
        }

        bool? restarted = null;
        try
        {
            writer.WithNormalWritesPaused(
                () =>
                {
                    for (var i = 0; i < QuietPasses && restarted is null; i++)
                    {
                        var commits = writer.Commits;
                        var quiet = Checkpoint(connection, "PASSIVE");
                        if (quiet.Busy == 0 && quiet.Copied == quiet.Frames)
                        {
                            // All of the log is in the database file, synced: unless a commit came
                            // since the pass began, RESTART has nothing to copy and only resets the log.
                            writer.Exclusive(() => restarted = writer.Commits == commits ? RestartInTurn(connection) : null, stopping.Token);
                        }
                    }
                },
                stopping.Token);

            quietFailures = restarted is null ? quietFailures + 1 : 0;
            if (restarted is null && (quietFailures >= QuietAttempts || pass.Frames >= 2 * restartFrames))
            {
                // Alerts committed during every quiet pass of several attempts (or a reader kept the
                // log): every write waits for this one, rather than pausing the normal writes again
                // and again. Until then, the next pass tries again.
                quietFailures = 0;
                writer.Exclusive(() => restarted = RestartInTurn(connection), stopping.Token);
                if (restarted == true)
                {
                    Interlocked.Increment(ref heldRestarts);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or AggregateException)
        {
            // The silo is stopping (the writer refused the turn, or this thread was asked to end).
            return;
        }

        if (restarted == true)
        {
            Interlocked.Increment(ref restarts);
        }
        else if (restarted == false)
        {
            // A reader of the old log (a long query, an export) kept it: not again at once.
            nextRestart = Environment.TickCount64 + (long)RestartRetry.TotalMilliseconds;
        }
    }

    /// <summary>The RESTART checkpoint, in a turn of the writer: whether readers let the log start again.</summary>
    private bool RestartInTurn(SqliteConnection connection)
    {
        SetBusyTimeout(connection, RestartBusyMilliseconds);
        try
        {
            var result = Checkpoint(connection, "RESTART");
            if (result.Busy != 0)
            {
                return false;
            }

            restartedAtFrames = result.Frames;
            return true;
        }
        finally
        {
            SetBusyTimeout(connection, 0);
        }
    }

    /// <summary>Runs a checkpoint. SQLite answers whether something kept it from finishing, the log's length and how much of it is copied, in pages.</summary>
    private static (long Busy, long Frames, long Copied) Checkpoint(SqliteConnection connection, string mode)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA wal_checkpoint({mode})";
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)) : (1, 0, 0);
    }

    private static void SetBusyTimeout(SqliteConnection connection, int milliseconds)
    {
        using var command = connection.CreateCommand();
        command.CommandText = FormattableString.Invariant($"PRAGMA busy_timeout={milliseconds}");
        command.ExecuteNonQuery();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        // busy_timeout 0: a pass never waits; what readers still use is copied by a later one.
        pragma.CommandText = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=0;";
        pragma.ExecuteNonQuery();
        pragma.CommandText = "PRAGMA page_size";
        restartFrames = restartFramesSet ?? RestartBytes / Convert.ToInt64(pragma.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        return connection;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not checkpoint the SQLite write-ahead log; it grows until a checkpoint succeeds")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception);
}
