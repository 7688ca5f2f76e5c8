using System.Data;
using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditOrleans.Grains.Storage;

/// <summary>
/// The silo's database: opens connections for the configured provider, applies the schema and
/// serialises writers where the engine needs it (SQLite has one writer at a time; doing the
/// waiting here is cheaper and fairer than SQLITE_BUSY retries).
/// </summary>
/// <remarks>SQLite writes are group-committed by <see cref="SqliteGroupCommit"/>.</remarks>
public sealed partial class AuditDatabase(IOptions<AuditOrleansOptions> options, ILogger<AuditDatabase> logger) : IDisposable
{
    /// <summary>Most work items committed together.</summary>
    public const int MaxGroupSize = 256;

    private readonly StorageOptions storage = options.Value.Storage;
    private readonly string connectionString = ProviderConnectionString(options.Value.Storage);
    private SqliteGroupCommit? sqliteWrites;

    // SQLite read connections kept open between hot reads (see RentReaderAsync).
    private readonly System.Collections.Concurrent.ConcurrentBag<DbConnection> idleReaders = [];
    private int sqliteFilesChecked;
    private int disposed;

    public StorageProvider Provider => storage.Provider;

    /// <summary>The write-ahead log's length, in pages, past which it is started again; <see langword="null"/> (the default): <see cref="WalCheckpointer.RestartBytes"/> in the database's pages (smaller in tests).</summary>
    internal long? WalRestartFrames { get; init; }

    /// <summary>Times the write-ahead log was started again from its beginning (for tests and diagnostics).</summary>
    internal long WalRestarts => Volatile.Read(ref sqliteWrites)?.WalRestarts ?? 0;

    /// <summary>Of <see cref="WalRestarts"/>, those that held every write while the last pages were copied (for tests and diagnostics).</summary>
    internal long WalHeldRestarts => Volatile.Read(ref sqliteWrites)?.WalHeldRestarts ?? 0;

    // Created on the first write (never for PostgreSQL); the lock only guards that creation.
    private SqliteGroupCommit SqliteWrites
    {
        get
        {
            if (Volatile.Read(ref sqliteWrites) is { } existing)
            {
                return existing;
            }

            ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
            var created = new SqliteGroupCommit(() => OpenAsync(CancellationToken.None), connectionString, logger) { WalRestartFrames = WalRestartFrames };
            if (Interlocked.CompareExchange(ref sqliteWrites, created, null) is { } raced)
            {
                created.Dispose();
                return raced;
            }

            return created;
        }
    }

    /// <summary>The ADO.NET invariant name Orleans uses for this provider.</summary>
    public string Invariant => InvariantFor(storage.Provider);

    /// <summary>The connection string Orleans' providers should use (SQLite: with the settings this class applies).</summary>
    public string ConnectionString => connectionString;

    /// <summary>
    /// The connection string every component of the silo uses. SQLite: Microsoft.Data.Sqlite's
    /// connection pool is turned off, because concurrent opens can hand one native connection
    /// to two owners (dotnet/efcore#39008), which showed here as "Safety level may not be
    /// changed inside a transaction" when many detectors activate at once.
    /// </summary>
    public static string ProviderConnectionString(StorageOptions storage) => storage.Provider == StorageProvider.Sqlite
        ? new SqliteConnectionStringBuilder(storage.ConnectionString) { Pooling = false }.ToString()
        : storage.ConnectionString;

    public static string InvariantFor(StorageProvider provider) => provider switch
    {
        StorageProvider.Sqlite => "System.Data.SQLite",
        StorageProvider.PostgreSql => "Npgsql",
        _ => throw new ArgumentOutOfRangeException(nameof(provider)),
    };

    /// <summary>Opens a connection with the per-connection settings of the provider.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        if (storage.Provider == StorageProvider.Sqlite && Volatile.Read(ref sqliteFilesChecked) == 0)
        {
            EnsureSqliteDirectory();
        }

        var connection = CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken);
            if (storage.Provider == StorageProvider.Sqlite)
            {
                // FULL: a commit is on disk before the caller is told the events are accepted.
                await using var pragma = connection.CreateCommand();
                pragma.CommandText = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;";
                await pragma.ExecuteNonQueryAsync(cancellationToken);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Most SQLite read connections kept open for <see cref="RentReaderAsync"/>.</summary>
    public const int MaxIdleReaders = 8;

    /// <summary>
    /// A connection for one read on a hot path (the detector's idempotency lookup, once per
    /// append, and the reads that rebuild a detector when it activates). SQLite connections are opened without the driver's pool (see
    /// <see cref="ProviderConnectionString"/>), so opening one costs an open, the PRAGMAs and a
    /// fresh parse of the schema each time; this keeps up to <see cref="MaxIdleReaders"/> of them
    /// open, each lent to one caller at a time. PostgreSQL uses Npgsql's pool.
    /// </summary>
    public async ValueTask<ReadLease> RentReaderAsync(CancellationToken cancellationToken = default)
    {
        if (storage.Provider == StorageProvider.Sqlite && idleReaders.TryTake(out var idle))
        {
            return new ReadLease(this, idle);
        }

        return new ReadLease(this, await OpenAsync(cancellationToken));
    }

    /// <summary>Takes back a connection of <see cref="RentReaderAsync"/>.</summary>
    internal ValueTask ReturnReaderAsync(DbConnection connection)
    {
        if (storage.Provider == StorageProvider.Sqlite && connection.State == ConnectionState.Open
            && Volatile.Read(ref disposed) == 0 && idleReaders.Count < MaxIdleReaders)
        {
            idleReaders.Add(connection);
            return ValueTask.CompletedTask;
        }

        return connection.DisposeAsync();
    }

    /// <summary>Runs <paramref name="work"/> in one write transaction and commits it (SQLite: possibly together with other writers' work, see the remarks).</summary>
    public Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken = default) =>
        WriteAsync(work, WritePriority.Normal, cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> in one write transaction and commits it. SQLite: an
    /// <see cref="WritePriority.Alert"/> write (one that records a firing) is committed in a group
    /// of its own, ahead of the queued normal writes, and a group of normal writes that is running
    /// stops taking work when one arrives (docs/architecture.md, Alerts before bulk writes).
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, WritePriority priority, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (storage.Provider != StorageProvider.Sqlite)
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
            var result = await work(connection, transaction);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }

        return await SqliteWrites.WriteAsync(work, priority, cancellationToken);
    }

    /// <summary>
    /// Runs a write that goes through a connection of its own, such as Orleans' grain storage
    /// (<c>IPersistentState.WriteStateAsync</c>), between the engine's SQLite write groups, so
    /// that it does not wait for the write lock in SQLite's busy handler while bulk ingestion
    /// keeps the writer busy (docs/architecture.md, Persistence). PostgreSQL: runs it directly.
    /// </summary>
    public Task WithoutConcurrentWritesAsync(Func<Task> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return storage.Provider == StorageProvider.Sqlite ? SqliteWrites.ExclusiveAsync(work, cancellationToken) : work();
    }

    /// <summary>Creates or upgrades the schema from deploy/sql/{provider}/ (idempotent).</summary>
    public async Task ApplySchemaAsync(CancellationToken cancellationToken = default)
    {
        if (storage.Provider == StorageProvider.Sqlite)
        {
            EnsureSqliteDirectory();
        }

        var folder = storage.Provider == StorageProvider.Sqlite ? "sqlite" : "postgresql";
        var scripts = SchemaScripts.Load(folder);
        await using var connection = await OpenAsync(cancellationToken);
        foreach (var (name, text) in scripts)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = text;
            command.CommandTimeout = 120;
            await command.ExecuteNonQueryAsync(cancellationToken);
            LogSchemaApplied(logger, name, storage.Provider);

            // After each script, so that a later script can index a column added to an earlier script's table.
            if (storage.Provider == StorageProvider.Sqlite)
            {
                await AddSqliteColumnsAsync(connection, cancellationToken);
            }
        }

        if (storage.Provider == StorageProvider.Sqlite)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA page_size";
            var pageSize = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            if (pageSize != SqlitePageSize)
            {
                LogSmallerPages(logger, pageSize, SqlitePageSize);
            }
        }
    }

    /// <summary>
    /// The page size of a database created by this version (001-schema.sql). A file created
    /// before keeps its own: SQLite changes it only by rewriting the whole file (docs/configuration.md, Storage).
    /// </summary>
    public const long SqlitePageSize = 16_384;

    /// <summary>
    /// Columns added to SQLite tables after they first shipped. The scripts create them with new
    /// tables; SQLite has no ADD COLUMN IF NOT EXISTS, so existing databases get them here (the
    /// PostgreSQL scripts do the same with ALTER TABLE ... ADD COLUMN IF NOT EXISTS).
    /// </summary>
    private static readonly (string Table, string Column, string Type)[] SqliteAddedColumns =
    [
        ("audit_chain_anchors", "retention_days", "INTEGER"),
        ("audit_chain_anchors", "proven_at", "INTEGER"),
        ("audit_chain_anchors", "signature", "TEXT"),
        ("fired_alerts", "kind", "INTEGER NOT NULL DEFAULT 0"),
        ("fired_alerts", "episode_id", "TEXT"),
        ("fired_alerts", "backfill", "INTEGER NOT NULL DEFAULT 0"),
        ("fired_alerts", "late", "INTEGER NOT NULL DEFAULT 0"),
        ("audit_events", "kind", "TEXT NOT NULL DEFAULT 'api'"),
        ("fired_alerts", "rule_id", "TEXT"),
        ("alert_silences", "rules", "TEXT"),
    ];

    private async Task AddSqliteColumnsAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        foreach (var (table, column, type) in SqliteAddedColumns)
        {
            await using var exists = connection.CreateCommand();
            exists.CommandText = "SELECT COUNT(*) FROM pragma_table_info(@t) WHERE name = @c";
            Db.AddParameter(exists, "@t", table);
            Db.AddParameter(exists, "@c", column);
            if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0)
            {
                continue;
            }

            await using var tableExists = connection.CreateCommand();
            tableExists.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = @t";
            Db.AddParameter(tableExists, "@t", table);
            if (Convert.ToInt64(await tableExists.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                // Its script has not run yet: the column comes with the table, or after the script.
                continue;
            }

            await using var alter = connection.CreateCommand();
            alter.CommandText = $"ALTER TABLE {table} ADD COLUMN {column} {type}";
            try
            {
                await alter.ExecuteNonQueryAsync(cancellationToken);
                LogColumnAdded(logger, table, column);
            }
            catch (SqliteException ex) when (ex.Message.Contains("duplicate column", StringComparison.OrdinalIgnoreCase))
            {
                // Another process sharing the file added it meanwhile.
            }
        }
    }

    /// <summary>
    /// Prepares the SQLite file so that a fresh checkout can start and nobody else can read it:
    /// creates its directory (0700 when new) and the database file itself (0600) before SQLite
    /// does, since SQLite gives the -wal, -shm and -journal files it creates the mode of the
    /// database file; and takes group and other permissions off those files where an older
    /// install or a looser umask left them readable. Unix only; runs once per instance (again
    /// when called explicitly).
    /// </summary>
    public void EnsureSqliteDirectory()
    {
        Interlocked.Exchange(ref sqliteFilesChecked, 1);
        var builder = new SqliteConnectionStringBuilder(storage.ConnectionString);
        var path = builder.DataSource;
        if (string.IsNullOrEmpty(path) || path == ":memory:" || builder.Mode == SqliteOpenMode.Memory
            || path.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(directory))
        {
            PrivateFiles.CreateDirectory(directory);
        }

        if (OperatingSystem.IsWindows())
        {
            return;
        }

        if (builder.Mode == SqliteOpenMode.ReadWriteCreate)
        {
            PrivateFiles.CreateEmpty(full);
        }

        foreach (var file in (string[])[full, full + "-wal", full + "-shm", full + "-journal"])
        {
            if (!PrivateFiles.Tighten(file))
            {
                LogNotPrivate(logger, file);
            }
        }
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref disposed, 1);
        sqliteWrites?.Dispose();
        while (idleReaders.TryTake(out var reader))
        {
            reader.Dispose();
        }
    }

    private DbConnection CreateConnection() => storage.Provider switch
    {
        StorageProvider.Sqlite => new SqliteConnection(connectionString),
        StorageProvider.PostgreSql => new NpgsqlConnection(storage.ConnectionString),
        _ => throw new InvalidOperationException($"Unknown storage provider {storage.Provider}."),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Added column {Column} to {Table} (database created by an older version)")]
    private static partial void LogColumnAdded(ILogger logger, string table, string column);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path} is readable by other users and its mode could not be changed (is it owned by another user?)")]
    private static partial void LogNotPrivate(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "The SQLite database has pages of {PageSize} bytes (created by an older version); it works as is, and ingests faster under load once rewritten with pages of {Recommended} bytes (docs/configuration.md, Storage)")]
    private static partial void LogSmallerPages(ILogger logger, long pageSize, long recommended);

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied schema script {Script} ({Provider})")]
    private static partial void LogSchemaApplied(ILogger logger, string script, StorageProvider provider);
}
