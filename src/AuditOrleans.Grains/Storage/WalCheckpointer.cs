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
internal sealed partial class WalCheckpointer : IDisposable
{
    /// <summary>How often the log is checkpointed.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly string connectionString;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stopping = new();
    private readonly Thread thread;
    private bool failing;

    public WalCheckpointer(string connectionString, ILogger logger)
    {
        this.connectionString = connectionString;
        this.logger = logger;
        thread = new Thread(Run) { IsBackground = true, Name = "AuditOrleans WAL checkpoint" };
        thread.Start();
    }

    /// <summary>Checkpoints done since start (for tests and diagnostics).</summary>
    public long Checkpoints { get; private set; }

    public void Dispose()
    {
        stopping.Cancel();
        thread.Join(TimeSpan.FromSeconds(5));
        stopping.Dispose();
    }

    private void Run()
    {
        SqliteConnection? connection = null;
        try
        {
            while (!stopping.Token.WaitHandle.WaitOne(Interval))
            {
                try
                {
                    connection ??= Open();
                    using var command = connection.CreateCommand();
                    command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
                    command.ExecuteNonQuery();
                    Checkpoints++;
                    failing = false;
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

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous=FULL;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not checkpoint the SQLite write-ahead log; it grows until a checkpoint succeeds")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception);
}
