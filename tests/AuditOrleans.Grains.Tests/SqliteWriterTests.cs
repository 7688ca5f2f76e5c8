using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>The SQLite writer: group commit, the alert lane, turns for other writers, its thread, on a real SQLite file.</summary>
public sealed class SqliteWriterTests : SqliteDatabaseTestBase
{
    [Fact]
    public async Task QueuedWritesCommitTogetherAndAFailingOneIsUndoneAlone()
    {
        // The first write holds the gate until the others are queued behind it, so they form one group.
        var release = new TaskCompletionSource();
        var first = Database.WriteAsync(async (c, t) =>
        {
            await release.Task;
            return await InsertAsync(c, t, "first@example.com");
        });
        var others = Enumerable.Range(0, 5).Select(i => Database.WriteAsync(async (c, t) =>
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
    public async Task AWriteLargerThanTheStatementJournalSpillIsUndoneAloneFromMemory()
    {
        // Each write runs in a savepoint; SQLite keeps the undo copy of the pages it changes, and
        // past 64 KiB spills it to a temporary file unless temp_store is MEMORY (the writer's setting).
        var release = new TaskCompletionSource();
        var first = Database.WriteAsync(async (c, t) =>
        {
            await release.Task;
            return await InsertAsync(c, t, "before-big@example.com");
        });
        var big = Database.WriteAsync<int>(async (c, t) =>
        {
            await using (var settings = c.CreateCommand())
            {
                settings.Transaction = (SqliteTransaction)t;
                settings.CommandText = "SELECT (SELECT temp_store FROM pragma_temp_store) || ',' || (SELECT cache_size FROM pragma_cache_size) || ',' || (SELECT journal_size_limit FROM pragma_journal_size_limit)";
                Assert.Equal($"2,{-65536},{512L * 1024 * 1024}", await settings.ExecuteScalarAsync());
            }

            for (var i = 0; i < 400; i++)
            {
                await InsertAsync(c, t, $"big-{i:D4}-{new string('x', 2000)}@example.com");
            }

            throw new InvalidOperationException("the big write fails after 800 KB");
        });
        var after = Database.WriteAsync((c, t) => InsertAsync(c, t, "after-big@example.com"));
        release.SetResult();

        Assert.Equal(1, await first);
        Assert.Equal("the big write fails after 800 KB", (await Assert.ThrowsAsync<InvalidOperationException>(() => big)).Message);
        Assert.Equal(1, await after);
        Assert.Equal(["after-big@example.com", "before-big@example.com"], await EmailsAsync());
    }

    [Fact]
    public async Task DisposingWhileAGroupRunsLetsItCommitAndLeavesNoWriteLockBehind()
    {
        // A silo that stops in the middle of a write group: the next silo on the same file must be able to write.
        var inside = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var running = Database.WriteAsync(async (c, t) =>
        {
            var n = await InsertAsync(c, t, "during-stop@example.com");
            inside.SetResult();
            await release.Task;
            return n;
        });
        await inside.Task;
        var disposing = Task.Run(Database.Dispose);
        await Task.Delay(100);
        Assert.False(disposing.IsCompleted, "Dispose must wait for the running group");
        release.SetResult();
        await disposing.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, await running);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => Database.WriteAsync((c, t) => InsertAsync(c, t, "after-stop@example.com")));

        // Another writer gets the write lock at once (busy_timeout 0: a lock left behind fails here instead of waiting).
        await using var next = new SqliteConnection($"Data Source={Directory.Combine("t.db")};Pooling=False");
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
        Assert.Equal(1, await Database.WriteAsync((c, t) => InsertAsync(c, t, "priority@example.com")));
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        Assert.Equal(RaisedThreadPriority.Nice, ThreadNiceness.Raised);
        Assert.Contains(ThreadNiceness.ExpectedRaised, ThreadNiceness.Of("AuditOrleans SQLite writer"));

        // So does its checkpointer: the writer waits for its restarts of the log.
        Assert.Contains(ThreadNiceness.ExpectedRaised, ThreadNiceness.Of("AuditOrleans WAL checkpoint"));
    }

    [Fact]
    public async Task AnAlertWriteIsCommittedAheadOfQueuedBulkWrites()
    {
        // A bulk write is running; five more are queued behind it, then an alert write arrives.
        var ran = new List<string>();
        var release = new TaskCompletionSource();
        var running = await RunningWriteAsync(ran, release);
        var queued = Enumerable.Range(0, 5).Select(i => Database.WriteAsync(async (c, t) =>
        {
            // By the time any queued bulk write runs, the alert is committed (seen from another connection).
            ran.Add($"bulk{i}{(await CommittedAsync("alert@example.com") ? "+alert" : "")}");
            return await InsertAsync(c, t, $"bulk{i}@example.com");
        })).ToList();
        var alert = Database.WriteAsync(async (c, t) =>
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
    public async Task WhileTheCheckpointerPausesNormalWritesAlertWritesStillCommit()
    {
        // The pause that a restart of the log takes while it copies and syncs its last pages.
        using var writes = new SqliteGroupCommit(async () => await Database.OpenAsync(), Database.ConnectionString, NullLogger.Instance);
        using var paused = new ManualResetEventSlim();
        using var resume = new ManualResetEventSlim();
        var pause = Task.Run(() => writes.WithNormalWritesPaused(
            () =>
            {
                paused.Set();
                resume.Wait(TimeSpan.FromSeconds(60));
            },
            CancellationToken.None));
        Assert.True(paused.Wait(TimeSpan.FromSeconds(30)), "The pause never began.");

        var commits = writes.Commits;
        var bulk = writes.WriteAsync((c, t) => InsertAsync(c, t, "bulk@example.com"), WritePriority.Normal, CancellationToken.None);
        var alert = writes.WriteAsync((c, t) => InsertAsync(c, t, "alert@example.com"), WritePriority.Alert, CancellationToken.None);
        Assert.Equal(1, await alert.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(await CommittedAsync("alert@example.com"));
        Assert.False(bulk.IsCompleted);
        Assert.False(await CommittedAsync("bulk@example.com"));

        // The pause ends: the bulk write commits, and each commit was counted.
        resume.Set();
        await pause.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, await bulk.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(commits + 2, writes.Commits);
        Assert.Equal(["alert@example.com", "bulk@example.com"], await EmailsAsync());
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
        var withdrawn = Database.WithoutConcurrentWritesAsync(() =>
        {
            ran.Add("withdrawn");
            return Task.CompletedTask;
        }, gaveUp.Token);
        var turn = Database.WithoutConcurrentWritesAsync(async () =>
        {
            ran.Add("turn");
            await using var own = new SqliteConnection($"Data Source={Directory.Combine("t.db")};Pooling=False");
            await own.OpenAsync();
            await using var command = own.CreateCommand();
            command.CommandText = "PRAGMA busy_timeout=0; BEGIN IMMEDIATE; INSERT INTO notification_contacts (project_id, email, types, created_at) VALUES ('p', 'turn@example.com', 1, 0); COMMIT;";
            await command.ExecuteNonQueryAsync();
        });
        var bulk = Database.WriteAsync(async (c, t) =>
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
        var alerts = Enumerable.Range(0, AuditDatabase.MaxGroupSize + 10).Select(i => Database.WriteAsync(async (c, t) =>
        {
            ran.Add("alert");
            return await InsertAsync(c, t, $"alert{i}@example.com");
        }, WritePriority.Alert)).ToList();
        var bulk = Database.WriteAsync(async (c, t) =>
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
        var file = new FileInfo(Directory.Combine("t.db"));
        var before = file.Length;
        var filler = new string('x', 4000);
        for (var batch = 0; batch < 10; batch++)
        {
            await WriteRowsAsync($"{batch}", 200, filler);
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
    public async Task AUniqueViolationFailsOnlyItsOwnWork()
    {
        await Database.WriteAsync((c, t) => InsertAsync(c, t, "taken@example.com"));
        var release = new TaskCompletionSource();
        var blocker = Database.WriteAsync(async (c, t) =>
        {
            await release.Task;
            return 0;
        });
        var duplicate = Database.WriteAsync((c, t) => InsertAsync(c, t, "taken@example.com"));
        var fresh = Database.WriteAsync((c, t) => InsertAsync(c, t, "fresh@example.com"));
        release.SetResult();
        await blocker;

        var error = await Assert.ThrowsAsync<SqliteException>(() => duplicate);
        Assert.Equal(19, error.SqliteErrorCode);
        Assert.Equal(1, await fresh);
        Assert.Equal(["fresh@example.com", "taken@example.com"], await EmailsAsync());
    }
}
