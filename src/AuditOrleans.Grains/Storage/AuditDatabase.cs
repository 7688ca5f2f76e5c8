using System.Data;
using System.Data.Common;
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
public sealed partial class AuditDatabase(IOptions<AuditOrleansOptions> options, ILogger<AuditDatabase> logger) : IDisposable
{
    private readonly StorageOptions storage = options.Value.Storage;
    private readonly SemaphoreSlim writeGate = new(1, 1);

    public StorageProvider Provider => storage.Provider;

    /// <summary>The ADO.NET invariant name Orleans uses for this provider.</summary>
    public string Invariant => InvariantFor(storage.Provider);

    /// <summary>The connection string Orleans' providers should use (SQLite: with the settings this class applies).</summary>
    public string ConnectionString => storage.ConnectionString;

    public static string InvariantFor(StorageProvider provider) => provider switch
    {
        StorageProvider.Sqlite => "System.Data.SQLite",
        StorageProvider.PostgreSql => "Npgsql",
        _ => throw new ArgumentOutOfRangeException(nameof(provider)),
    };

    /// <summary>Opens a connection with the per-connection settings of the provider.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
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

    /// <summary>Runs <paramref name="work"/> in one write transaction and commits it.</summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken = default)
    {
        var gated = storage.Provider == StorageProvider.Sqlite;
        if (gated)
        {
            await writeGate.WaitAsync(cancellationToken);
        }

        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
            var result = await work(connection, transaction);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        finally
        {
            if (gated)
            {
                writeGate.Release();
            }
        }
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
        }
    }

    /// <summary>Creates the directory of the SQLite file so that a fresh checkout can start.</summary>
    public void EnsureSqliteDirectory()
    {
        var builder = new SqliteConnectionStringBuilder(storage.ConnectionString);
        var path = builder.DataSource;
        if (!string.IsNullOrEmpty(path) && path != ":memory:" && builder.Mode != SqliteOpenMode.Memory)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }
    }

    public void Dispose() => writeGate.Dispose();

    private DbConnection CreateConnection() => storage.Provider switch
    {
        StorageProvider.Sqlite => new SqliteConnection(storage.ConnectionString),
        StorageProvider.PostgreSql => new NpgsqlConnection(storage.ConnectionString),
        _ => throw new InvalidOperationException($"Unknown storage provider {storage.Provider}."),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied schema script {Script} ({Provider})")]
    private static partial void LogSchemaApplied(ILogger logger, string script, StorageProvider provider);
}

/// <summary>The SQL scripts of deploy/sql/, embedded in this assembly at build time.</summary>
internal static class SchemaScripts
{
    public static IReadOnlyList<(string Name, string Text)> Load(string provider)
    {
        var assembly = typeof(SchemaScripts).Assembly;
        var prefix = $"sql.{provider}/";
        var scripts = new List<(string, string)>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.Replace('\\', '/').StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            scripts.Add((name[prefix.Length..], reader.ReadToEnd()));
        }

        if (scripts.Count == 0)
        {
            throw new InvalidOperationException($"No schema scripts for '{provider}' are embedded in {assembly.GetName().Name}.");
        }

        return scripts;
    }
}
