using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Security;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// Someone who can write the SQLite file but does not hold the checkpoint key deletes the oldest
/// events of a chain and tries to make it look like a retention purge; each attack runs against
/// the real silo and file, and the integrity check must report it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RetentionAnchorTests(AuditClusterFixture fixture)
{
    private const string Region = "fr-par";

    private IAuditLogGrain Log => fixture.Grains.GetGrain<IAuditLogGrain>(0);

    private DateTimeOffset Now => fixture.Clock.GetUtcNow();

    private IServiceProvider Services => ((Orleans.TestingHost.InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;

    private LogMaintenanceService Maintenance => Services.GetRequiredService<LogMaintenanceService>();

    private CheckpointSigner Signer => Services.GetRequiredService<CheckpointSigner>();

    [Fact]
    public async Task DeletingTheOldestEventsBehindAnInsertedAnchorIsReportedWithOrWithoutKeptCheckpoints()
    {
        var project = AuditClusterFixture.NewProjectId("anc");
        await IngestAsync(project, 1, 5);
        await Maintenance.RunOnceAsync();
        var early = Assert.Single(await Log.GetCheckpointsAsync(project, Region, 10));
        await IngestAsync(project, 6, 20);
        await Maintenance.RunOnceAsync();
        var late = (await Log.GetCheckpointsAsync(project, Region, 10))[0];
        Assert.Equal((5L, 20L), (early.Sequence, late.Sequence));
        Assert.True((await Log.VerifyAgainstAsync(project, Region, [early, late])).IsValid);

        // The attack: events 1..8 and their checkpoints deleted, an anchor inserted at the cut.
        var hash8 = await HashAtAsync(project, 8);
        await CutAsync(project, 8);
        await ExecuteAsync(
            "INSERT INTO audit_chain_anchors (project_id, region, seq, hash, purged_at) VALUES ($p, $r, 8, $h, $t)",
            project, ("$h", hash8), ("$t", DbTime.ToMicros(Now)));

        var alone = await Log.VerifyAsync(project, Region);
        Assert.False(alone.IsValid);
        Assert.Equal(8, alone.FirstBrokenSequence);
        Assert.Contains("retention anchor at position 8", alone.Reason);
        Assert.Contains("not signed", alone.Reason);
        Assert.Equal(8, alone.PurgedThroughSequence);

        // The checkpoint kept at position 5, below the anchor, is not waved through either.
        var kept = await Log.VerifyAgainstAsync(project, Region, [early, late]);
        Assert.False(kept.IsValid);
        Assert.Contains("not signed", kept.Reason);

        // Filling in the signature columns with made-up values does not help.
        await ExecuteAsync(
            "UPDATE audit_chain_anchors SET retention_days = 90, proven_at = $v, signature = $g WHERE project_id = $p AND region = $r",
            project, ("$v", DbTime.ToMicros(Now.AddDays(-100))), ("$g", new string('a', 64)));
        var forged = await Log.VerifyAgainstAsync(project, Region, [early, late]);
        Assert.False(forged.IsValid);
        Assert.Contains("forged", forged.Reason);
    }

    [Fact]
    public async Task AValidAnchorCopiedToAnotherChainOrMovedToAnotherPositionIsForged()
    {
        // A real purge: events 1..6 of chain a were checkpointed 100 days ago.
        var a = AuditClusterFixture.NewProjectId("anc");
        await IngestAsync(a, 1, 10);
        await AgeCheckpointAsync(a, 6, Now.AddDays(-100));
        await Maintenance.RunOnceAsync();
        var purged = await Log.VerifyAsync(a, Region);
        Assert.True(purged.IsValid, purged.Reason);
        Assert.Equal((6L, 4L, 10L), (purged.PurgedThroughSequence, purged.EventsChecked, purged.HeadSequence));

        // Copied to chain b, with b's own position and hash: the signature binds a's chain.
        var b = AuditClusterFixture.NewProjectId("anc");
        await IngestAsync(b, 1, 10);
        var hash6 = await HashAtAsync(b, 6);
        await CutAsync(b, 6);
        await ExecuteAsync(
            "INSERT INTO audit_chain_anchors (project_id, region, seq, hash, purged_at, retention_days, proven_at, signature) " +
            "SELECT $b, region, seq, $h, purged_at, retention_days, proven_at, signature FROM audit_chain_anchors WHERE project_id = $p AND region = $r",
            a, ("$b", b), ("$h", hash6));
        var copied = await Log.VerifyAsync(b, Region);
        Assert.False(copied.IsValid);
        Assert.Contains("forged", copied.Reason);

        // Moved further along chain a (two more events deleted): the signature binds the position.
        var hash8 = await HashAtAsync(a, 8);
        await CutAsync(a, 8);
        await ExecuteAsync("UPDATE audit_chain_anchors SET seq = 8, hash = $h WHERE project_id = $p AND region = $r", a, ("$h", hash8));
        var moved = await Log.VerifyAsync(a, Region);
        Assert.False(moved.IsValid);
        Assert.Contains("forged", moved.Reason);

        // Put back where it was, the anchor holds and the deleted events 7..8 are what is reported;
        // with another purge time, the anchor itself is forged.
        await ExecuteAsync("UPDATE audit_chain_anchors SET seq = 6, hash = $h WHERE project_id = $p AND region = $r", a, ("$h", await HashAtAsync(a, 6)));
        var back = await Log.VerifyAsync(a, Region);
        Assert.False(back.IsValid);
        Assert.Equal(9, back.FirstBrokenSequence);
        Assert.Contains("Events 7..8 are missing", back.Reason);
        await ExecuteAsync("UPDATE audit_chain_anchors SET purged_at = purged_at + 1 WHERE project_id = $p AND region = $r", a);
        Assert.Contains("forged", (await Log.VerifyAsync(a, Region)).Reason);
    }

    [Fact]
    public async Task AnAnchorThatDoesNotFitTheRetentionIsReportedEvenWhenSigned()
    {
        // Whoever holds the key (or a silo run with 1 day of retention) cut events 2 days old,
        // while Retention:Days is 90.
        var project = AuditClusterFixture.NewProjectId("anc");
        await IngestAsync(project, 1, 10);
        await InsertSignedAnchorAsync(project, 5, purgedAt: Now, retentionDays: 1, provenAt: Now.AddDays(-2));
        var young = await Log.VerifyAsync(project, Region);
        Assert.False(young.IsValid);
        Assert.Contains("only 2 days old", young.Reason);
        Assert.Contains("Retention:Days is 90 (the purge ran with 1)", young.Reason);

        // A purge dated in the future.
        var future = AuditClusterFixture.NewProjectId("anc");
        await IngestAsync(future, 1, 10);
        await InsertSignedAnchorAsync(future, 5, purgedAt: Now.AddDays(3), retentionDays: 90, provenAt: Now.AddDays(-100));
        var report = await Log.VerifyAsync(future, Region);
        Assert.False(report.IsValid);
        Assert.Contains("in the future", report.Reason);
    }

    [Fact]
    public async Task MakingYoungEventsLookOldDoesNotMakeTheSiloPurgeThem()
    {
        var project = AuditClusterFixture.NewProjectId("anc");
        await IngestAsync(project, 1, 10);
        await Maintenance.RunOnceAsync();

        // ingested_at is not covered by the chain; a forged old checkpoint is not signed.
        await ExecuteAsync("UPDATE audit_events SET ingested_at = 0 WHERE project_id = $p AND region = $r", project);
        await ExecuteAsync(
            "INSERT INTO audit_checkpoints (project_id, region, seq, hash, created_at, signature) VALUES ($p, $r, 7, $h, 0, $g)",
            project, ("$h", await HashAtAsync(project, 7)), ("$g", new string('b', 64)));
        await Maintenance.RunOnceAsync();

        var report = await Log.VerifyAsync(project, Region);
        Assert.Equal(0, report.PurgedThroughSequence);
        Assert.False(report.IsValid); // the forged checkpoint itself is reported
        Assert.Contains("checkpoints were forged", report.Reason);
        await ExecuteAsync("DELETE FROM audit_checkpoints WHERE project_id = $p AND region = $r AND seq = 7", project);
        var clean = await Log.VerifyAsync(project, Region);
        Assert.True(clean.IsValid, clean.Reason);
        Assert.Equal(10, clean.EventsChecked);
    }

    private async Task IngestAsync(string project, int from, int to)
    {
        var events = Enumerable.Range(from, to - from + 1)
            .Select(i => EventFactory.Ok(project, Now.AddMinutes(-30).AddSeconds(i), $"srv-{i}") with { Id = $"{project}-{i}" })
            .ToList();
        Assert.Equal(events.Count, (await fixture.Grains.GetGrain<IIngestGrain>(0).IngestAsync(project, events)).Accepted);
    }

    /// <summary>A signed checkpoint at <paramref name="seq"/> as the maintenance service would have taken it at <paramref name="at"/>.</summary>
    private async Task AgeCheckpointAsync(string project, long seq, DateTimeOffset at)
    {
        var hash = await HashAtAsync(project, seq);
        var micros = DbTime.ToMicros(at);
        await ExecuteAsync(
            "INSERT INTO audit_checkpoints (project_id, region, seq, hash, created_at, signature) VALUES ($p, $r, $s, $h, $t, $g)",
            project, ("$s", seq), ("$h", hash), ("$t", micros), ("$g", Signer.Sign(ChainSignatures.CheckpointText(project, Region, seq, hash, micros))));
    }

    /// <summary>What a holder of the checkpoint key can do: cut the chain and sign an anchor with any values.</summary>
    private async Task InsertSignedAnchorAsync(string project, long seq, DateTimeOffset purgedAt, int retentionDays, DateTimeOffset provenAt)
    {
        var hash = await HashAtAsync(project, seq);
        await CutAsync(project, seq);
        var (t, v) = (DbTime.ToMicros(purgedAt), DbTime.ToMicros(provenAt));
        await ExecuteAsync(
            "INSERT INTO audit_chain_anchors (project_id, region, seq, hash, purged_at, retention_days, proven_at, signature) VALUES ($p, $r, $s, $h, $t, $d, $v, $g)",
            project,
            ("$s", seq), ("$h", hash), ("$t", t), ("$d", retentionDays), ("$v", v),
            ("$g", Signer.SignAnchor(ChainSignatures.AnchorText(project, Region, seq, hash, t, retentionDays, v))));
    }

    private Task CutAsync(string project, long seq) => ExecuteAsync(
        "DELETE FROM audit_event_resources WHERE project_id = $p AND region = $r AND seq <= $s; " +
        "DELETE FROM audit_events WHERE project_id = $p AND region = $r AND seq <= $s; " +
        "DELETE FROM audit_checkpoints WHERE project_id = $p AND region = $r AND seq <= $s;",
        project, ("$s", seq));

    private readonly Dictionary<(string, long), string> hashes = [];

    /// <summary>The stored hash of an event (remembered, so that it is known after the event is deleted).</summary>
    private async Task<string> HashAtAsync(string project, long seq)
    {
        if (hashes.ContainsKey((project, seq)))
        {
            return hashes[(project, seq)];
        }

        await using var connection = new SqliteConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, hash FROM audit_events WHERE project_id = $p AND region = $r";
        command.Parameters.AddWithValue("$p", project);
        command.Parameters.AddWithValue("$r", Region);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            hashes[(project, reader.GetInt64(0))] = reader.GetString(1);
        }

        return hashes[(project, seq)];
    }

    private async Task ExecuteAsync(string sql, string project, params (string Name, object Value)[] parameters)
    {
        await using var connection = new SqliteConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$p", project);
        command.Parameters.AddWithValue("$r", Region);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }
}
