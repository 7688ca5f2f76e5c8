using System.Data.Common;
using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Notifications;
using AuditOrleans.Grains.Security;

namespace AuditOrleans.Grains.Tests;

/// <summary>Group commit of SQLite writes, on a real SQLite file.</summary>
public sealed class AuditDatabaseTests : IAsyncLifetime
{
    private readonly TempDirectory directory = new("auditorleans-db");
    private AuditDatabase database = null!;

    public async Task InitializeAsync()
    {
        database = new AuditDatabase(
            Options.Create(new AuditOrleansOptions { Storage = { ConnectionString = $"Data Source={directory.Combine("t.db")}" } }),
            NullLogger<AuditDatabase>.Instance);
        await database.ApplySchemaAsync();
    }

    public Task DisposeAsync()
    {
        database.Dispose();
        directory.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task QueuedWritesCommitTogetherAndAFailingOneIsUndoneAlone()
    {
        // The first write holds the gate until the others are queued behind it, so they form one group.
        var release = new TaskCompletionSource();
        var first = database.WriteAsync(async (c, t) =>
        {
            await release.Task;
            return await InsertAsync(c, t, "first@example.com");
        });
        var others = Enumerable.Range(0, 5).Select(i => database.WriteAsync(async (c, t) =>
        {
            var n = await InsertAsync(c, t, $"w{i}@example.com");
            return i == 2 ? throw new InvalidOperationException("work 2 fails after writing") : n;
        })).ToList();
        release.SetResult();

        Assert.Equal(1, await first);
        foreach (var (write, i) in others.Select(static (w, i) => (w, i)))
        {
            if (i == 2)
            {
                var error = await Assert.ThrowsAsync<InvalidOperationException>(() => write);
                Assert.Equal("work 2 fails after writing", error.Message);
            }
            else
            {
                Assert.Equal(1, await write);
            }
        }

        Assert.Equal(["first@example.com", "w0@example.com", "w1@example.com", "w3@example.com", "w4@example.com"], await EmailsAsync());
    }

    [Fact]
    public async Task DisposingWhileAGroupRunsLetsItCommitAndLeavesNoWriteLockBehind()
    {
        // A silo that stops in the middle of a write group: the next silo on the same file must be able to write.
        var inside = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var running = database.WriteAsync(async (c, t) =>
        {
            var n = await InsertAsync(c, t, "during-stop@example.com");
            inside.SetResult();
            await release.Task;
            return n;
        });
        await inside.Task;
        var disposing = Task.Run(database.Dispose);
        await Task.Delay(100);
        Assert.False(disposing.IsCompleted, "Dispose must wait for the running group");
        release.SetResult();
        await disposing.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, await running);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => database.WriteAsync((c, t) => InsertAsync(c, t, "after-stop@example.com")));

        // Another writer gets the write lock at once (busy_timeout 0: a lock left behind fails here instead of waiting).
        await using var next = new SqliteConnection($"Data Source={directory.Combine("t.db")};Pooling=False");
        await next.OpenAsync();
        await using (var immediate = next.CreateCommand())
        {
            immediate.CommandText = "PRAGMA busy_timeout=0; BEGIN IMMEDIATE; INSERT INTO notification_contacts (project_id, email, types, created_at) VALUES ('p', 'next-silo@example.com', 1, 0); COMMIT;";
            await immediate.ExecuteNonQueryAsync();
        }

        await using var read = next.CreateCommand();
        read.CommandText = "SELECT group_concat(email, ',') FROM (SELECT email FROM notification_contacts ORDER BY email)";
        Assert.Equal("during-stop@example.com,next-silo@example.com", await read.ExecuteScalarAsync());
    }

    [Fact]
    public async Task TheWriterThreadRunsAheadOfThePoolWhereTheSystemAllowsIt()
    {
        Assert.Equal(1, await database.WriteAsync((c, t) => InsertAsync(c, t, "priority@example.com")));
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // Linux names the thread with its first 15 characters; field 19 of its stat is the nice value.
        // Other tests' threads may end while they are listed: those are skipped.
        var writers = new List<int>();
        foreach (var task in System.IO.Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd() == "AuditOrleans SQ")
                {
                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    writers.Add(int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture));
                }
            }
            catch (IOException)
            {
            }
        }

        // Root has CAP_SYS_NICE (CI and the test machines run as root); another user is refused and runs at 0.
        var expected = Environment.UserName == "root" ? WriterThreadPriority.Nice : 0;
        Assert.Contains(expected, writers);
    }

    [Fact]
    public async Task AnAlertWriteIsCommittedAheadOfQueuedBulkWrites()
    {
        // A bulk write is running; five more are queued behind it, then an alert write arrives.
        var ran = new List<string>();
        var release = new TaskCompletionSource();
        var running = await RunningWriteAsync(ran, release);
        var queued = Enumerable.Range(0, 5).Select(i => database.WriteAsync(async (c, t) =>
        {
            // By the time any queued bulk write runs, the alert is committed (seen from another connection).
            ran.Add($"bulk{i}{(await CommittedAsync("alert@example.com") ? "+alert" : "")}");
            return await InsertAsync(c, t, $"bulk{i}@example.com");
        })).ToList();
        var alert = database.WriteAsync(async (c, t) =>
        {
            ran.Add("alert");
            return await InsertAsync(c, t, "alert@example.com");
        }, WritePriority.Alert);
        release.SetResult();

        Assert.Equal(1, await alert);
        await Task.WhenAll(queued.Append(running));
        Assert.Equal(["running", "alert", "bulk0+alert", "bulk1+alert", "bulk2+alert", "bulk3+alert", "bulk4+alert"], ran);
        Assert.Equal(7, (await EmailsAsync()).Count);
    }

    [Fact]
    public async Task AWriterWithItsOwnConnectionGetsATurnBetweenGroupsWithTheWriteLockFree()
    {
        // Orleans' grain storage writes through a connection of its own: it waits for the running
        // group, goes before the queued bulk write, and finds the write lock free (no busy wait).
        var ran = new List<string>();
        var release = new TaskCompletionSource();
        var running = await RunningWriteAsync(ran, release);
        using var gaveUp = new CancellationTokenSource();
        var withdrawn = database.WithoutConcurrentWritesAsync(() =>
        {
            ran.Add("withdrawn");
            return Task.CompletedTask;
        }, gaveUp.Token);
        var turn = database.WithoutConcurrentWritesAsync(async () =>
        {
            ran.Add("turn");
            await using var own = new SqliteConnection($"Data Source={directory.Combine("t.db")};Pooling=False");
            await own.OpenAsync();
            await using var command = own.CreateCommand();
            command.CommandText = "PRAGMA busy_timeout=0; BEGIN IMMEDIATE; INSERT INTO notification_contacts (project_id, email, types, created_at) VALUES ('p', 'turn@example.com', 1, 0); COMMIT;";
            await command.ExecuteNonQueryAsync();
        });
        var bulk = database.WriteAsync(async (c, t) =>
        {
            ran.Add("bulk");
            return await InsertAsync(c, t, "bulk@example.com");
        });
        await gaveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => withdrawn);
        Assert.False(turn.IsCompleted);
        release.SetResult();

        await Task.WhenAll(running, turn, bulk);
        Assert.Equal(["running", "turn", "bulk"], ran);
        Assert.Equal(["bulk@example.com", "running@example.com", "turn@example.com"], await EmailsAsync());
    }

    [Fact]
    public async Task MoreAlertWritesThanAGroupHoldsDoNotStarveABulkWrite()
    {
        // Behind a running bulk write: more alert writes than one group takes, and one more bulk write.
        var ran = new List<string>();
        var release = new TaskCompletionSource();
        var running = await RunningWriteAsync(ran, release);
        var alerts = Enumerable.Range(0, AuditDatabase.MaxGroupSize + 10).Select(i => database.WriteAsync(async (c, t) =>
        {
            ran.Add("alert");
            return await InsertAsync(c, t, $"alert{i}@example.com");
        }, WritePriority.Alert)).ToList();
        var bulk = database.WriteAsync(async (c, t) =>
        {
            ran.Add("bulk");
            return await InsertAsync(c, t, "bulk@example.com");
        });
        release.SetResult();

        await Task.WhenAll(alerts.Append(bulk).Append(running));

        // The running group takes the first alert as its last write; then one full group of
        // alerts, and the bulk write gets its turn before the remaining nine.
        Assert.Equal("alert", ran[1]);
        Assert.Equal(2 + AuditDatabase.MaxGroupSize, ran.IndexOf("bulk"));
        Assert.Equal(AuditDatabase.MaxGroupSize + 12, ran.Count);
    }

    [Fact]
    public async Task TheWriteAheadLogIsCheckpointedInTheBackground()
    {
        // Far more than SQLite's 1,000-page threshold, written by the one writer connection, whose commits do not checkpoint.
        var file = new FileInfo(directory.Combine("t.db"));
        var before = file.Length;
        var filler = new string('x', 4000);
        for (var batch = 0; batch < 10; batch++)
        {
            await database.WriteAsync(async (c, t) =>
            {
                for (var i = 0; i < 200; i++)
                {
                    await InsertAsync(c, t, $"{batch}-{i}-{filler}@example.com");
                }

                return 0;
            });
        }

        // The background checkpointer moves the log into the database file (it runs a few times a second).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (new FileInfo(file.FullName).Length < before + (8 * 1024 * 1024) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(new FileInfo(file.FullName).Length >= before + (8 * 1024 * 1024), $"The database file is still {new FileInfo(file.FullName).Length:N0} bytes: the log was not checkpointed.");
        Assert.Equal(2000, (await EmailsAsync()).Count);
    }

    [Fact]
    public async Task ReadConnectionsAreLentToOneCallerAtATimeAndKeptOpenBetweenReads()
    {
        var first = await database.RentReaderAsync();
        var second = await database.RentReaderAsync();
        Assert.NotSame(first.Connection, second.Connection);
        var kept = first.Connection;
        await first.DisposeAsync();
        await second.DisposeAsync();

        // Given back open, lent again, and it reads what the writer committed since.
        await database.WriteAsync((c, t) => InsertAsync(c, t, "after-return@example.com"));
        await using (var again = await database.RentReaderAsync())
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
            many.Add(await database.RentReaderAsync());
        }

        Assert.Equal(many.Count, many.Select(static l => l.Connection).Distinct().Count());
        foreach (var lease in many)
        {
            await lease.DisposeAsync();
        }

        Assert.Equal(AuditDatabase.MaxIdleReaders, many.Count(static l => l.Connection.State == System.Data.ConnectionState.Open));
    }

    [Fact]
    public async Task AUniqueViolationFailsOnlyItsOwnWork()
    {
        await database.WriteAsync((c, t) => InsertAsync(c, t, "taken@example.com"));
        var release = new TaskCompletionSource();
        var blocker = database.WriteAsync(async (c, t) =>
        {
            await release.Task;
            return 0;
        });
        var duplicate = database.WriteAsync((c, t) => InsertAsync(c, t, "taken@example.com"));
        var fresh = database.WriteAsync((c, t) => InsertAsync(c, t, "fresh@example.com"));
        release.SetResult();
        await blocker;

        var error = await Assert.ThrowsAsync<SqliteException>(() => duplicate);
        Assert.Equal(19, error.SqliteErrorCode);
        Assert.Equal(1, await fresh);
        Assert.Equal(["fresh@example.com", "taken@example.com"], await EmailsAsync());
    }

    [Fact]
    public void ConnectionsBypassTheSqliteDriverPool()
    {
        var builder = new SqliteConnectionStringBuilder(database.ConnectionString);
        Assert.False(builder.Pooling);
        Assert.Equal(directory.Combine("t.db"), builder.DataSource);
    }

    [Fact]
    public async Task ADatabaseOfAnOlderVersionGetsTheAnchorSignatureColumnsAndItsUnsignedAnchorIsReported()
    {
        // The anchors table as versions before signed anchors created it, with an anchor and the rest of its chain.
        var connectionString = $"Data Source={directory.Combine("old.db")};Pooling=False";
        var payload = AuditEventJson.Serialize(new AuditEvent { Id = "e4", RecordedAt = DateTimeOffset.UnixEpoch.AddDays(1), StatusCode = 200 });
        var anchorHash = new string('c', 64);
        var hash = HashChain.Compute("p", "fr-par", 4, anchorHash, payload);
        await using (var connection = new SqliteConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText =
                "CREATE TABLE audit_chain_anchors (project_id TEXT NOT NULL, region TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, " +
                "purged_at INTEGER NOT NULL, PRIMARY KEY (project_id, region)) WITHOUT ROWID; " +
                "INSERT INTO audit_chain_anchors VALUES ('p', 'fr-par', 3, $a, 86400000000);";
            command.Parameters.AddWithValue("$a", anchorHash);
            await command.ExecuteNonQueryAsync();
        }

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
        var connectionString = $"Data Source={directory.Combine("old-firings.db")};Pooling=False";
        await using (var connection = new SqliteConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText =
                "CREATE TABLE fired_alerts (id TEXT NOT NULL PRIMARY KEY, project_id TEXT NOT NULL, region TEXT NOT NULL, alert TEXT NOT NULL, severity TEXT NOT NULL, " +
                "triggered_at INTEGER NOT NULL, event_time INTEGER NOT NULL, window_start INTEGER NOT NULL, window_end INTEGER NOT NULL, facts TEXT NOT NULL, is_test INTEGER NOT NULL DEFAULT 0); " +
                "INSERT INTO fired_alerts VALUES ('f1', 'p', 'fr-par', 'ApiKeyCreated', 'Medium', 1, 1, 0, 2, '{}', 0);";
            await command.ExecuteNonQueryAsync();
        }

        using var old = new AuditDatabase(
            Options.Create(new AuditOrleansOptions { Storage = { ConnectionString = connectionString } }), NullLogger<AuditDatabase>.Instance);
        await old.ApplySchemaAsync();
        await old.ApplySchemaAsync();

        var firing = await new AlertHistoryReader(old).GetFiringAsync("f1");
        Assert.NotNull(firing);
        Assert.Equal((AlertKind.Firing, null, false, false), (firing.Kind, firing.EpisodeId, firing.IsBackfill, firing.IsLate));
    }

    /// <summary>A bulk write that holds the write gate until <paramref name="release"/> completes, so that what follows queues behind it.</summary>
    /// <summary>Starts a write and returns once the writer runs it (it then waits for <paramref name="release"/>).</summary>
    private async Task<Task<int>> RunningWriteAsync(List<string> ran, TaskCompletionSource release)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = database.WriteAsync(async (c, t) =>
        {
            ran.Add("running");
            started.SetResult();
            await release.Task;
            return await InsertAsync(c, t, "running@example.com");
        });
        await started.Task;
        return running;
    }

    private async Task<bool> CommittedAsync(string email)
    {
        await using var connection = await database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM notification_contacts WHERE email = @e";
        Db.AddParameter(command, "@e", email);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    private static async Task<int> InsertAsync(DbConnection connection, DbTransaction transaction, string email)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO notification_contacts (project_id, email, types, created_at) VALUES ('p', @e, 1, 0)";
        var p = command.CreateParameter();
        p.ParameterName = "@e";
        p.Value = email;
        command.Parameters.Add(p);
        return await command.ExecuteNonQueryAsync();
    }

    private async Task<List<string>> EmailsAsync()
    {
        await using var connection = await database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT email FROM notification_contacts ORDER BY email";
        var emails = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            emails.Add(reader.GetString(0));
        }

        return emails;
    }
}
