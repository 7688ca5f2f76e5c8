using AuditOrleans.Grains.Storage;
using Microsoft.Data.Sqlite;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// The write-ahead log under writes that never pause (docs/architecture.md, Persistence:
/// Checkpoints): background checkpoints alone never let SQLite start the log again, so it grew
/// by everything written. Here the restart threshold is 64 pages instead of 16,384.
/// </summary>
public sealed class WalCheckpointerTests : SqliteDatabaseTestBase
{
    // Each write of 8 rows is about 16 KB.
    private static readonly string Filler = new('x', 2000);

    protected override long? WalRestartFrames => 64;

    [Theory]
    [InlineData(WritePriority.Normal)]
    [InlineData(WritePriority.Alert)]
    public async Task PastItsLengthLimitTheLogIsStartedAgainInTurnsOfTheWriterAndNothingIsLost(WritePriority priority)
    {
        // Four writers that queue their next write before the last one commits, so the writer thread
        // is never idle, until the log has been started again twice (each write about 16 KB, so a
        // pass every 250 ms finds the log past 64 pages on any disk). No throughput is asserted:
        // a slow disk only takes longer. A restart that stalled the writer leaves the writes
        // waiting, and the bound below fails the test.
        var written = 0;
        var giveUp = DateTime.UtcNow.AddSeconds(60);
        var writers = Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; Database.WalRestarts < 2 && DateTime.UtcNow < giveUp; i++)
            {
                await WriteRowsAsync($"w{w}-{i:D6}", 8, Filler, priority);
                Interlocked.Increment(ref written);
            }
        })));
        var finished = await Task.WhenAny(writers, Task.Delay(TimeSpan.FromSeconds(90)));
        Assert.True(finished == writers, $"The writes stopped after {written}: the writer stalled.");
        await writers;

        // The log passed 64 pages between passes: such passes restarted it, in turns of the writer
        // thread, while the writes went on.
        Assert.True(Database.WalRestarts >= 2, $"{Database.WalRestarts} restarts in {written} writes.");

        // Bulk writes: each restart copied the last pages while only the normal writes were paused,
        // and its turn had nothing left to copy, so none held every write for a sync. Alert writes
        // go on during that pause (most passes then see a commit), and the log stays bounded anyway.
        if (priority == WritePriority.Normal)
        {
            Assert.Equal(0, Database.WalHeldRestarts);
        }

        // The log is usable after its restarts: it holds what was written since the last one, and every write is in.
        await using var connection = new SqliteConnection($"Data Source={Directory.Combine("t.db")}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", await command.ExecuteScalarAsync());
        Assert.Equal(written * 8, (await EmailsAsync()).Count);
    }

    [Fact]
    public async Task AnIdleLogIsStartedAgainOnceNotAtEveryPass()
    {
        // A log past 64 pages (20 writes of about 16 KB), then no more writes.
        for (var i = 0; i < 20; i++)
        {
            await WriteRowsAsync($"idle-{i:D3}", 8, Filler);
        }

        // The restart comes within a few passes of 250 ms; the bound is for a hang only.
        var giveUp = DateTime.UtcNow.AddSeconds(30);
        while (Database.WalRestarts == 0 && DateTime.UtcNow < giveUp)
        {
            await Task.Delay(50);
        }

        Assert.Equal(1, Database.WalRestarts);

        // Until a write uses it, SQLite reports the old log's length, all copied: the next passes
        // (eight in 2 s) leave it alone instead of taking the writer's turn for it each time.
        await Task.Delay(WalCheckpointer.Interval * 8);
        Assert.Equal(1, Database.WalRestarts);
    }
}
