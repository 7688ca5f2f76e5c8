using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Notifications;
using AuditOrleans.Grains.Security;

namespace AuditOrleans.Grains.Tests;

/// <summary>Reads, connections and schema upgrades of <see cref="AuditDatabase"/>, on a real SQLite file.</summary>
public sealed class AuditDatabaseTests : SqliteDatabaseTestBase
{
    [Fact]
    public async Task ReadConnectionsAreLentToOneCallerAtATimeAndKeptOpenBetweenReads()
    {
        var first = await Database.RentReaderAsync();
        var second = await Database.RentReaderAsync();
        Assert.NotSame(first.Connection, second.Connection);
        var kept = first.Connection;
        await first.DisposeAsync();
        await second.DisposeAsync();

        // Given back open, lent again, and it reads what the writer committed since.
        await Database.WriteAsync((c, t) => InsertAsync(c, t, "after-return@example.com"));
        await using (var again = await Database.RentReaderAsync())
        {
            Assert.True(ReferenceEquals(kept, again.Connection) || ReferenceEquals(second.Connection, again.Connection));
            await using var command = again.Connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM notification_contacts WHERE email = 'after-return@example.com'";
            Assert.Equal(1L, await command.ExecuteScalarAsync());
        }

        // No more than MaxIdleReaders stay open.
        var many = new List<ReadLease>();
        for (var i = 0; i < AuditDatabase.MaxIdleReaders + 4; i++)
        {
            many.Add(await Database.RentReaderAsync());
        }

        Assert.Equal(many.Count, many.Select(static l => l.Connection).Distinct().Count());
        foreach (var lease in many)
        {
            await lease.DisposeAsync();
        }

        Assert.Equal(AuditDatabase.MaxIdleReaders, many.Count(static l => l.Connection.State == System.Data.ConnectionState.Open));
    }

    [Fact]
    public void ConnectionsBypassTheSqliteDriverPool()
    {
        var builder = new SqliteConnectionStringBuilder(Database.ConnectionString);
        Assert.False(builder.Pooling);
        Assert.Equal(Directory.Combine("t.db"), builder.DataSource);
    }

    [Fact]
    public async Task ADatabaseOfAnOlderVersionGetsTheAnchorSignatureColumnsAndItsUnsignedAnchorIsReported()
    {
        // The anchors table as versions before signed anchors created it, with an anchor and the rest of its chain.
        var payload = AuditEventJson.Serialize(new AuditEvent { Id = "e4", RecordedAt = DateTimeOffset.UnixEpoch.AddDays(1), StatusCode = 200 });
        var anchorHash = new string('c', 64);
        var hash = HashChain.Compute("p", "fr-par", 4, anchorHash, payload);
        var connectionString = await OldDatabaseAsync(
            "old.db",
            "CREATE TABLE audit_chain_anchors (project_id TEXT NOT NULL, region TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, " +
            "purged_at INTEGER NOT NULL, PRIMARY KEY (project_id, region)) WITHOUT ROWID; " +
            $"INSERT INTO audit_chain_anchors VALUES ('p', 'fr-par', 3, '{anchorHash}', 86400000000);");

        var options = Options.Create(new AuditOrleansOptions
        {
            Storage = { ConnectionString = connectionString },
            CheckpointKey = Convert.ToHexString(new byte[32]),
        });
        using var old = new AuditDatabase(options, NullLogger<AuditDatabase>.Instance);
        await old.ApplySchemaAsync();
        await old.ApplySchemaAsync();

        await using (var connection = await old.OpenAsync())
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT name FROM pragma_table_info('audit_chain_anchors') ORDER BY cid";
            var columns = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                columns.Add(reader.GetString(0));
            }

            Assert.Equal(["project_id", "region", "seq", "hash", "purged_at", "retention_days", "proven_at", "signature"], columns);
        }

        var writer = new AuditLogWriter(old, new FiringRecorder(old, Options.Create(new AuditOrleansOptions())));
        var chains = new ChainVerifier(old);
        await writer.AppendAsync("p", "fr-par", [new NewRecord(AuditEventJson.Parse(payload), 4, payload, anchorHash, hash, DateTimeOffset.UnixEpoch.AddDays(1))], []);
        var report = await chains.VerifyAsync("p", "fr-par", new CheckpointSigner(options), 90, DateTimeOffset.UnixEpoch.AddDays(200));
        Assert.False(report.IsValid);
        Assert.Equal((3L, 3L), (report.FirstBrokenSequence, report.PurgedThroughSequence));
        Assert.Contains("before retention anchors were signed", report.Reason);
    }

    [Fact]
    public async Task FiringsOfAnOlderVersionGetTheLifecycleColumnsAndReadAsFirings()
    {
        // fired_alerts as versions before episodes created it, with one firing.
        var connectionString = await OldDatabaseAsync(
            "old-firings.db",
            "CREATE TABLE fired_alerts (id TEXT NOT NULL PRIMARY KEY, project_id TEXT NOT NULL, region TEXT NOT NULL, alert TEXT NOT NULL, severity TEXT NOT NULL, " +
            "triggered_at INTEGER NOT NULL, event_time INTEGER NOT NULL, window_start INTEGER NOT NULL, window_end INTEGER NOT NULL, facts TEXT NOT NULL, is_test INTEGER NOT NULL DEFAULT 0); " +
            "INSERT INTO fired_alerts VALUES ('f1', 'p', 'fr-par', 'ApiKeyCreated', 'Medium', 1, 1, 0, 2, '{}', 0);");

        using var old = new AuditDatabase(
            Options.Create(new AuditOrleansOptions { Storage = { ConnectionString = connectionString } }), NullLogger<AuditDatabase>.Instance);
        await old.ApplySchemaAsync();
        await old.ApplySchemaAsync();

        var firing = await new AlertHistoryReader(old).GetFiringAsync("f1");
        Assert.NotNull(firing);
        Assert.Equal((AlertKind.Firing, null, false, false), (firing.Kind, firing.EpisodeId, firing.IsBackfill, firing.IsLate));
    }

    [Fact]
    public async Task ANewDatabaseHasSixteenKibPagesAndAnOlderOneKeepsItsOwnAndIsToldAbout()
    {
        Assert.Equal(16_384, await PageSizeAsync(Database));

        // A file as older versions created it: SQLite's default pages, a table and a row.
        var connectionString = await OldDatabaseAsync(
            "old-pages.db",
            "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; " +
            "CREATE TABLE notification_contacts_old (email TEXT NOT NULL PRIMARY KEY); INSERT INTO notification_contacts_old VALUES ('kept@example.com');");

        var logs = new TestLogSink();
        using var old = new AuditDatabase(
            Options.Create(new AuditOrleansOptions { Storage = { ConnectionString = connectionString } }), new LoggerFactory([logs]).CreateLogger<AuditDatabase>());
        await old.ApplySchemaAsync();

        Assert.Equal(4_096, await PageSizeAsync(old));
        Assert.Contains(logs.Lines, l => l.StartsWith("Information", StringComparison.Ordinal) && l.Contains("pages of 4096 bytes", StringComparison.Ordinal) && l.Contains("docs/configuration.md", StringComparison.Ordinal));
        await using (var connection = await old.OpenAsync())
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT email FROM notification_contacts_old";
            Assert.Equal("kept@example.com", await command.ExecuteScalarAsync());
        }

        // The new file says nothing of the kind.
        var fresh = new TestLogSink();
        using var created = new AuditDatabase(
            Options.Create(new AuditOrleansOptions { Storage = { ConnectionString = $"Data Source={Directory.Combine("new-pages.db")};Pooling=False" } }), new LoggerFactory([fresh]).CreateLogger<AuditDatabase>());
        await created.ApplySchemaAsync();
        Assert.DoesNotContain(fresh.Lines, l => l.Contains("pages of", StringComparison.Ordinal));
    }

    /// <summary>A database file as an older version left it, made by <paramref name="sql"/>; returns its connection string.</summary>
    private async Task<string> OldDatabaseAsync(string file, string sql)
    {
        var connectionString = $"Data Source={Directory.Combine(file)};Pooling=False";
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
        return connectionString;
    }

    private static async Task<long> PageSizeAsync(AuditDatabase database)
    {
        await using var connection = await database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA page_size";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
