using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using Xunit;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Security;

namespace AuditOrleans.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class AuditLogTests(AuditClusterFixture fixture)
{
    private IIngestGrain Ingest => fixture.Grains.GetGrain<IIngestGrain>(0);

    private IAuditLogGrain Log => fixture.Grains.GetGrain<IAuditLogGrain>(0);

    private DateTimeOffset Now => fixture.Clock.GetUtcNow();

    private static AuditEvent Event(string project, DateTimeOffset at, int i, string region = "fr-par") => new()
    {
        Id = $"ev-{i:D6}",
        RecordedAt = at,
        Locality = region,
        ProjectId = project,
        PrincipalId = $"principal-{i % 3}",
        SourceIp = $"192.0.2.{i % 4}",
        ProductName = i % 2 == 0 ? "instance" : "object-storage",
        ServiceName = "svc",
        MethodName = i % 5 == 0 ? "DeleteServer" : "ListServers",
        StatusCode = i % 7 == 0 ? 403 : 200,
        Resources = [new AuditResource { Id = $"res-{i % 6}", Type = "instance_server" }],
    };

    private async Task<List<AuditRecord>> QueryAllAsync(AuditQuery query)
    {
        var all = new List<AuditRecord>();
        string? token = null;
        do
        {
            var page = await Log.QueryAsync(query with { ContinuationToken = token });
            all.AddRange(page.Records);
            token = page.ContinuationToken;
        }
        while (token is not null);

        return all;
    }

    [Theory]
    [InlineData(SortOrder.NewestFirst)]
    [InlineData(SortOrder.OldestFirst)]
    public async Task PagesAcrossRegionsMergeInTimeRegionAndPositionOrder(SortOrder order)
    {
        // Regions read one by one and merged (no region, no principal/IP/method/resource filter): ties on
        // the time across regions and within one, every page size, status filters, both orders.
        var project = AuditClusterFixture.NewProjectId();
        var t = Now.AddMinutes(-40);
        string[] regions = ["fr-par", "nl-ams", "pl-waw"];
        var events = Enumerable.Range(0, 90).Select(i => Event(project, t.AddSeconds(i / 4), i, regions[(i * 7) % 3])).ToList();
        Assert.Equal(90, (await Ingest.IngestAsync(project, events)).Accepted);

        foreach (var (status, statusClass) in new (int?, int?)[] { (null, null), (403, null), (null, 2) })
        {
            var expected = (await QueryAllAsync(new AuditQuery { ProjectId = project, Region = "fr-par", RecordedAfter = t, RecordedBefore = t.AddMinutes(1), StatusCode = status, StatusClass = statusClass, PageSize = 1000 }))
                .Concat(await QueryAllAsync(new AuditQuery { ProjectId = project, Region = "nl-ams", RecordedAfter = t, RecordedBefore = t.AddMinutes(1), StatusCode = status, StatusClass = statusClass, PageSize = 1000 }))
                .Concat(await QueryAllAsync(new AuditQuery { ProjectId = project, Region = "pl-waw", RecordedAfter = t, RecordedBefore = t.AddMinutes(1), StatusCode = status, StatusClass = statusClass, PageSize = 1000 }))
                .OrderBy(static r => r.Event.RecordedAt).ThenBy(static r => r.Region, StringComparer.Ordinal).ThenBy(static r => r.Sequence)
                .Select(static r => r.Event.Id!)
                .ToList();
            if (order == SortOrder.NewestFirst)
            {
                expected.Reverse();
            }

            Assert.Equal(status is null && statusClass is null ? 90 : expected.Count, expected.Count);
            foreach (var size in new[] { 1, 7, 30, 1000 })
            {
                var merged = await QueryAllAsync(new AuditQuery { ProjectId = project, RecordedAfter = t, RecordedBefore = t.AddMinutes(1), StatusCode = status, StatusClass = statusClass, Order = order, PageSize = size });
                Assert.Equal(expected, merged.Select(static r => r.Event.Id!));
            }
        }
    }

    [Theory]
    [InlineData(SortOrder.NewestFirst)]
    [InlineData(SortOrder.OldestFirst)]
    public async Task FilteredPagesMergeEveryRegionAndStatusInOrder(SortOrder order)
    {
        // A principal, source IP or method filter reads one range per region and status code it
        // holds (deploy/sql 008: the status sits before the time in those indexes) and merges them:
        // the pages must hold exactly the matching events, in the order of the whole log, with ties
        // on the time, whatever the page size, status, status class or region.
        var project = AuditClusterFixture.NewProjectId();
        var t = Now.AddMinutes(-45);
        string[] regions = ["fr-par", "nl-ams", "pl-waw"];
        int[] statuses = [200, 200, 403, 404, 500, 201];
        var random = new Random(19);
        var events = Enumerable.Range(0, 150)
            .Select(i => Event(project, t.AddSeconds(i / 5), i, regions[(i * 11) % 3]) with { StatusCode = statuses[random.Next(statuses.Length)] })
            .ToList();
        Assert.Equal(150, (await Ingest.IngestAsync(project, events)).Accepted);
        var byId = events.ToDictionary(static e => e.Id!);
        var all = await QueryAllAsync(new AuditQuery { ProjectId = project, RecordedAfter = t, RecordedBefore = t.AddMinutes(1), Order = order, PageSize = 1000 });
        Assert.Equal(150, all.Count);

        var filters = new (string Name, AuditQuery Query, Func<AuditEvent, bool> Match)[]
        {
            ("principal", new() { ProjectId = project, PrincipalId = "principal-1" }, static e => e.PrincipalId == "principal-1"),
            ("principal 403", new() { ProjectId = project, PrincipalId = "principal-1", StatusCode = 403 }, static e => e.PrincipalId == "principal-1" && e.StatusCode == 403),
            ("principal 4xx", new() { ProjectId = project, PrincipalId = "principal-2", StatusClass = 4 }, static e => e.PrincipalId == "principal-2" && e.StatusCode is >= 400 and < 500),
            ("ip in a region", new() { ProjectId = project, SourceIp = "192.0.2.3", Region = "nl-ams" }, static e => e.SourceIp == "192.0.2.3" && e.Locality == "nl-ams"),
            ("method 5xx", new() { ProjectId = project, MethodName = "DeleteServer", StatusClass = 5 }, static e => e.MethodName == "DeleteServer" && e.StatusCode >= 500),
            ("method and ip", new() { ProjectId = project, MethodName = "ListServers", SourceIp = "192.0.2.0" }, static e => e.MethodName == "ListServers" && e.SourceIp == "192.0.2.0"),
            ("nobody", new() { ProjectId = project, PrincipalId = "principal-9" }, static _ => false),
        };
        foreach (var (name, filter, match) in filters)
        {
            var expected = all.Where(r => match(byId[r.Event.Id!])).Select(static r => r.Event.Id!).ToList();
            Assert.True(name == "nobody" || expected.Count > 0, $"{name}: the test's events match nothing.");
            foreach (var size in new[] { 1, 4, 1000 })
            {
                var pages = await QueryAllAsync(filter with { RecordedAfter = t, RecordedBefore = t.AddMinutes(1), Order = order, PageSize = size });
                Assert.True(expected.SequenceEqual(pages.Select(static r => r.Event.Id!)), $"{name}, pages of {size}: got {string.Join(",", pages.Select(static r => r.Event.Id))}, expected {string.Join(",", expected)}");
            }
        }
    }

    [Fact]
    public async Task AFilterOverMoreStatusCodesThanRangesStillPagesInOrder()
    {
        // More distinct status codes in a region than AuditLogQueries.MaxStatusRanges: the region is
        // read as one range sorted by the database instead of one range per code; same pages.
        var project = AuditClusterFixture.NewProjectId();
        var t = Now.AddMinutes(-42);
        var codes = AuditOrleans.Grains.AuditLog.AuditLogQueries.MaxStatusRanges + 12;
        var events = Enumerable.Range(0, codes * 2)
            .Select(i => Event(project, t.AddSeconds(i / 3), i, i % 5 == 0 ? "nl-ams" : "fr-par") with { StatusCode = 200 + (i % codes) })
            .ToList();
        Assert.Equal(events.Count, (await Ingest.IngestAsync(project, events)).Accepted);
        var all = await QueryAllAsync(new AuditQuery { ProjectId = project, RecordedAfter = t, RecordedBefore = t.AddMinutes(2), PageSize = 1000 });
        var expected = all.Where(static r => r.Event.PrincipalId == "principal-2").Select(static r => r.Event.Id!).ToList();
        Assert.NotEmpty(expected);

        var pages = await QueryAllAsync(new AuditQuery { ProjectId = project, PrincipalId = "principal-2", RecordedAfter = t, RecordedBefore = t.AddMinutes(2), PageSize = 7 });
        Assert.Equal(expected, pages.Select(static r => r.Event.Id!));
    }

    [Theory]
    [InlineData(12)] // every principal and IP had a 403: the top is read through the status index
    [InlineData(2)] // fewer than asked: every event of the range is read
    public async Task ActivityCountsBucketsAndTopsAsTheEventsSay(int withForbidden)
    {
        var project = AuditClusterFixture.NewProjectId();
        var t = Now.AddMinutes(-50);
        var random = new Random(withForbidden);
        string[] regions = ["fr-par", "nl-ams", "pl-waw"];
        var events = Enumerable.Range(0, 600).Select(i =>
        {
            var who = random.Next(15);
            var status = who < withForbidden && random.Next(3) == 0 ? 403 : random.Next(10) == 0 ? 500 : 200;
            return Event(project, t.AddSeconds(random.Next(3000)), i, regions[random.Next(3)]) with { PrincipalId = $"p-{who:D2}", SourceIp = $"192.0.2.{who}", StatusCode = status };
        }).ToList();
        Assert.Equal(600, (await Ingest.IngestAsync(project, events)).Accepted);

        foreach (var region in new string?[] { null, "nl-ams" })
        {
            var summary = await Log.GetActivityAsync(new ActivityQuery { ProjectId = project, Region = region, From = t, To = t.AddMinutes(50), Bucket = TimeSpan.FromMinutes(5), Top = 10 });
            var mine = events.Where(e => region is null || e.Locality == region).ToList();

            Assert.Equal(10, summary.Buckets.Count);
            for (var b = 0; b < 10; b++)
            {
                var inside = mine.Where(e => e.RecordedAt >= t.AddMinutes(5 * b) && e.RecordedAt < t.AddMinutes(5 * (b + 1))).ToList();
                Assert.Equal((inside.Count, inside.Count(static e => e.StatusCode == 403), inside.Count(static e => e.StatusCode is >= 400 and < 500), inside.Count(static e => e.StatusCode >= 500)),
                    ((int)summary.Buckets[b].Events, (int)summary.Buckets[b].Forbidden, (int)summary.Buckets[b].ClientErrors, (int)summary.Buckets[b].ServerErrors));
            }

            List<ActivityCount> Expected(Func<AuditEvent, string> key) => mine.GroupBy(key)
                .Select(static g => new ActivityCount(g.Key, g.Count(), g.Count(static e => e.StatusCode == 403)))
                .OrderByDescending(static c => c.Forbidden).ThenByDescending(static c => c.Events).ThenBy(static c => c.Value, StringComparer.Ordinal)
                .Take(10).ToList();
            Assert.Equal(Expected(static e => e.PrincipalId!), summary.TopPrincipals);
            Assert.Equal(Expected(static e => e.SourceIp!), summary.TopSourceIps);
        }

        Assert.Contains(project, await Log.ListProjectsAsync(QueryLimits.MaxProjects));
    }

    [Fact]
    public async Task ResentEventsAreCountedOnceAndReportedAsDuplicates()
    {
        var project = AuditClusterFixture.NewProjectId();
        var events = Enumerable.Range(0, 1000).Select(i => Event(project, Now.AddMinutes(-50).AddMilliseconds(i), i)).ToList();

        var first = await Ingest.IngestAsync(project, events);
        var resent = await Ingest.IngestAsync(project, [.. events.Take(500)]);

        Assert.Equal((1000, 0), (first.Accepted, first.Duplicates));
        Assert.Equal((0, 500), (resent.Accepted, resent.Duplicates));
        var stored = await QueryAllAsync(new AuditQuery { ProjectId = project, PageSize = 1000 });
        Assert.Equal(1000, stored.Count);
    }

    [Fact]
    public async Task PagesOfLargeEventsEndEarlyAndPagingStillReturnsEachOnce()
    {
        // 150 events with 60 KiB request bodies are about 9 MB of JSON: more than one answer may carry.
        var project = AuditClusterFixture.NewProjectId();
        var at = Now.AddMinutes(-30);
        var body = "{\"note\":\"" + new string('x', 60 * 1024) + "\"}";
        var events = Enumerable.Range(0, 150).Select(i => Event(project, at.AddSeconds(i), i) with { RequestBody = body }).ToList();
        for (var i = 0; i < events.Count; i += 50)
        {
            Assert.Equal(50, (await Ingest.IngestAsync(project, events.Skip(i).Take(50).ToList())).Accepted);
        }

        var query = new AuditQuery { ProjectId = project, RecordedAfter = at.AddMinutes(-1), PageSize = 1000 };
        var first = await Log.QueryAsync(query);
        Assert.NotNull(first.ContinuationToken);
        Assert.InRange(first.Records.Count, 1, 149);
        Assert.True(first.Records.Sum(static r => AuditEventJson.Serialize(r.Event).Length) <= AuditLog.AuditLogQueries.MaxPageChars + (64 * 1024));

        var all = await QueryAllAsync(query);
        Assert.Equal(events.Select(static e => e.Id).Reverse(), all.Select(static r => r.Event.Id));
        Assert.All(all, r => Assert.Equal(body, r.Event.RequestBody));
    }

    [Fact]
    public async Task BadEventsAreRejectedByPositionAndTheRestOfTheBatchIsKept()
    {
        var project = AuditClusterFixture.NewProjectId();
        var at = Now.AddMinutes(-5);
        AuditEvent[] batch =
        [
            Event(project, at, 1),
            Event(project, at, 2) with { SourceIp = "999.1.1.1" },
            Event(project, at, 3) with { Locality = "moon-1" },
            Event(project, at, 4),
        ];

        var result = await Ingest.IngestAsync(project, batch);

        Assert.Equal(2, result.Accepted);
        Assert.Collection(result.Errors,
            e => Assert.Equal((1, "ev-000002", "source_ip"), (e.Index, e.EventId, e.Field)),
            e => Assert.Equal((2, "ev-000003", "locality"), (e.Index, e.EventId, e.Field)));
    }

    [Fact]
    public async Task EachFilterAloneAndCombinedReturnsExactlyTheMatchingEvents()
    {
        var project = AuditClusterFixture.NewProjectId();
        var start = Now.AddMinutes(-40);
        var events = Enumerable.Range(0, 120).Select(i => Event(project, start.AddSeconds(i * 10), i, i % 10 == 9 ? "nl-ams" : "fr-par")).ToList();
        await Ingest.IngestAsync(project, events);

        async Task Check(AuditQuery query, Func<AuditEvent, bool> expected)
        {
            var got = (await QueryAllAsync(query)).Select(static r => r.Event.Id).ToList();
            var want = events.Where(expected).OrderByDescending(static e => e.RecordedAt).Select(static e => e.Id).ToList();
            Assert.Equal(want, got);
        }

        var all = new AuditQuery { ProjectId = project, PageSize = 7 };
        await Check(all, static _ => true);
        await Check(all with { Region = "nl-ams" }, static e => e.Locality == "nl-ams");
        await Check(all with { PrincipalId = "principal-1" }, static e => e.PrincipalId == "principal-1");
        await Check(all with { SourceIp = "192.0.2.3" }, static e => e.SourceIp == "192.0.2.3");
        await Check(all with { MethodName = "DeleteServer" }, static e => e.MethodName == "DeleteServer");
        await Check(all with { StatusCode = 403 }, static e => e.StatusCode == 403);
        await Check(all with { ProductName = "object-storage" }, static e => e.ProductName == "object-storage");
        await Check(all with { ResourceId = "res-2" }, static e => e.Resources![0].Id == "res-2");
        await Check(all with { RecordedAfter = start.AddSeconds(300), RecordedBefore = start.AddSeconds(600) },
            e => e.RecordedAt >= start.AddSeconds(300) && e.RecordedAt <= start.AddSeconds(600));
        await Check(all with { Region = "fr-par", PrincipalId = "principal-2", StatusCode = 200, ProductName = "instance", ResourceId = "res-4" },
            static e => e.Locality == "fr-par" && e.PrincipalId == "principal-2" && e.StatusCode == 200 && e.ProductName == "instance" && e.Resources![0].Id == "res-4");

        var oldest = await QueryAllAsync(all with { Order = SortOrder.OldestFirst, MethodName = "DeleteServer" });
        Assert.Equal(events.Where(static e => e.MethodName == "DeleteServer").Select(static e => e.Id), oldest.Select(static r => r.Event.Id));
    }

    [Fact]
    public async Task DefaultRangeIsTheLastHour()
    {
        var project = AuditClusterFixture.NewProjectId();
        await Ingest.IngestAsync(project, [Event(project, Now.AddMinutes(-90), 1), Event(project, Now.AddMinutes(-10), 2)]);
        var page = await Log.QueryAsync(new AuditQuery { ProjectId = project });
        Assert.Equal("ev-000002", Assert.Single(page.Records).Event.Id);
    }

    [Fact]
    public async Task PagingThroughTenThousandEventsReturnsEachOnce()
    {
        var project = AuditClusterFixture.NewProjectId();
        var at = Now.AddMinutes(-30);
        for (var b = 0; b < 10; b++)
        {
            // Many events share a timestamp: the keyset must still not skip or repeat any.
            var batch = Enumerable.Range(b * 1000, 1000).Select(i => Event(project, at.AddSeconds(i / 50), i)).ToList();
            Assert.Equal(1000, (await Ingest.IngestAsync(project, batch)).Accepted);
        }

        foreach (var order in new[] { SortOrder.NewestFirst, SortOrder.OldestFirst })
        {
            var records = await QueryAllAsync(new AuditQuery { ProjectId = project, PageSize = 999, Order = order });
            Assert.Equal(10_000, records.Count);
            Assert.Equal(10_000, records.Select(static r => r.Event.Id).Distinct().Count());
        }
    }

    [Fact]
    public async Task BadContinuationTokenIsAClearError()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Log.QueryAsync(new AuditQuery { ProjectId = "p", ContinuationToken = "garbage!" }));
        Assert.Contains("continuation token", error.Message);
    }

    [Fact]
    public async Task UntouchedLogVerifies()
    {
        var project = await SeedAsync(50);
        var report = await Log.VerifyAsync(project, "fr-par");
        Assert.True(report.IsValid, report.Reason);
        Assert.Equal(50, report.EventsChecked);
        Assert.Equal(50, report.HeadSequence);
    }

    [Fact]
    public async Task EditedFieldIsDetected()
    {
        var project = await SeedAsync(20);
        await ExecuteAsync("UPDATE audit_events SET payload = replace(payload, 'ListServers', 'ListSecrets') WHERE project_id = $p AND seq = 8", project);
        var report = await Log.VerifyAsync(project, "fr-par");
        Assert.False(report.IsValid);
        Assert.Equal(8, report.FirstBrokenSequence);
        Assert.Contains("edited", report.Reason);
    }

    [Fact]
    public async Task EditedIndexedColumnIsDetected()
    {
        var project = await SeedAsync(20);
        await ExecuteAsync("UPDATE audit_events SET source_ip = '203.0.113.66' WHERE project_id = $p AND seq = 5", project);
        var report = await Log.VerifyAsync(project, "fr-par");
        Assert.False(report.IsValid);
        Assert.Equal(5, report.FirstBrokenSequence);
        Assert.Contains("source_ip", report.Reason);
    }

    [Fact]
    public async Task DeletedEventIsDetected()
    {
        var project = await SeedAsync(20);
        await ExecuteAsync("DELETE FROM audit_events WHERE project_id = $p AND seq = 11", project);
        var report = await Log.VerifyAsync(project, "fr-par");
        Assert.False(report.IsValid);
        Assert.Equal(12, report.FirstBrokenSequence);
        Assert.Contains("deleted", report.Reason);
        Assert.Equal(10, report.EventsChecked);
    }

    [Fact]
    public async Task SwappedEventsAreDetected()
    {
        var project = await SeedAsync(20);
        await ExecuteAsync(
            "UPDATE audit_events SET seq = -1 WHERE project_id = $p AND seq = 6; " +
            "UPDATE audit_events SET seq = 6 WHERE project_id = $p AND seq = 7; " +
            "UPDATE audit_events SET seq = 7 WHERE project_id = $p AND seq = -1;", project);
        var report = await Log.VerifyAsync(project, "fr-par");
        Assert.False(report.IsValid);
        Assert.Equal(6, report.FirstBrokenSequence);
    }

    [Fact]
    public async Task DeletingTheNewestEventsIsDetectedByTheCheckpoint()
    {
        var project = await SeedAsync(10);
        await Maintenance.RunOnceAsync();
        await ExecuteAsync("DELETE FROM audit_events WHERE project_id = $p AND seq > 8", project);
        var report = await Log.VerifyAsync(project, "fr-par");
        Assert.False(report.IsValid);
        Assert.Contains("newest events were deleted", report.Reason);
    }

    [Fact]
    public async Task CheckpointsArePublishedSignedAndCheckedAgainstWhatTheUserKept()
    {
        var project = await SeedAsync(12);
        await Maintenance.RunOnceAsync();
        var kept = Assert.Single(await Log.GetCheckpointsAsync(project, "fr-par", 10));
        Assert.Equal(12, kept.Sequence);
        Assert.Contains(File.ReadLines(fixture.Directory.Combine("checkpoints.jsonl")), l => l.Contains(project) && l.Contains(kept.Hash));
        Assert.True((await Log.VerifyAgainstAsync(project, "fr-par", [kept])).IsValid);

        // A forged checkpoint row (someone rewrote the chain and its checkpoints) fails the signature check.
        await ExecuteAsync("UPDATE audit_checkpoints SET hash = 'ff' || substr(hash, 3) WHERE project_id = $p", project);
        var forged = await Log.VerifyAsync(project, "fr-par");
        Assert.False(forged.IsValid);
        Assert.Contains("forged", forged.Reason);

        // Without stored checkpoints, the one the user kept still reveals a rewritten chain.
        await ExecuteAsync("DELETE FROM audit_checkpoints WHERE project_id = $p; DELETE FROM audit_events WHERE project_id = $p AND seq > 10", project);
        Assert.True((await Log.VerifyAsync(project, "fr-par")).IsValid);
        var against = await Log.VerifyAgainstAsync(project, "fr-par", [kept]);
        Assert.False(against.IsValid);
        Assert.Contains("deleted", against.Reason);
    }

    [Fact]
    public async Task RetentionPurgeKeepsTheRestVerifiable()
    {
        // Events ingested 100 days ago (the clock of this test's store), then recent ones.
        var project = AuditClusterFixture.NewProjectId();
        var writer = Services.GetRequiredService<AuditLogWriter>();
        var oldIngest = Now.AddDays(-100);
        var records = new List<NewRecord>();
        var head = ChainHead.Empty;
        for (var i = 1; i <= 5; i++)
        {
            var e = Event(project, oldIngest, i) with { Region = "fr-par" };
            var payload = AuditEventJson.Serialize(e);
            var hash = HashChain.Compute(project, "fr-par", i, head.Hash, payload);
            records.Add(new NewRecord(e, i, payload, head.Hash, hash, oldIngest));
            head = new ChainHead(i, hash);
        }

        await writer.AppendAsync(project, "fr-par", records, []);

        // The checkpoint the maintenance service took back then: it proves the age of events 1..5.
        var signer = Services.GetRequiredService<CheckpointSigner>();
        var at = DbTime.ToMicros(oldIngest.AddMinutes(1));
        await ExecuteAsync(
            "INSERT INTO audit_checkpoints (project_id, region, seq, hash, created_at, signature) VALUES ($p, 'fr-par', 5, $h, $t, $g)",
            project,
            ("$h", head.Hash), ("$t", at), ("$g", signer.Sign(ChainSignatures.CheckpointText(project, "fr-par", 5, head.Hash, at))));
        await fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(project, "fr-par")).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Ingest.IngestAsync(project, [.. Enumerable.Range(6, 5).Select(i => Event(project, Now.AddMinutes(-1), i))]);

        await Maintenance.RunOnceAsync();

        var report = await Log.VerifyAsync(project, "fr-par");
        Assert.True(report.IsValid, report.Reason);
        Assert.Equal(5, report.EventsChecked);
        Assert.Equal(10, report.HeadSequence);
        Assert.Equal((5L, Now), (report.PurgedThroughSequence, report.PurgedAt));
        var left = await QueryAllAsync(new AuditQuery { ProjectId = project, RecordedAfter = Now.AddDays(-200) });
        Assert.Equal(["ev-000010", "ev-000009", "ev-000008", "ev-000007", "ev-000006"], left.Select(static r => r.Event.Id));

        // The chain goes on from where it was cut.
        await Ingest.IngestAsync(project, [Event(project, Now, 11)]);
        Assert.True((await Log.VerifyAsync(project, "fr-par")).IsValid);
    }

    [Fact]
    public async Task WindowIsRebuiltFromTheLogAfterTheDetectorIsDeactivated()
    {
        var project = AuditClusterFixture.NewProjectId();
        await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par"))
            .SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });
        var t0 = Now.AddMinutes(-20);
        await Ingest.IngestAsync(project, [.. Enumerable.Range(0, 15).Select(i => EventFactory.Forbidden(project, t0.AddSeconds(i)))]);
        await DeactivateDetectorAsync(project);

        await Ingest.IngestAsync(project, [.. Enumerable.Range(15, 6).Select(i => EventFactory.Forbidden(project, t0.AddSeconds(i)))]);
        Assert.Single(await HistoryAsync(project));

        // Already fired: a restart in the middle of the episode does not fire it again.
        await DeactivateDetectorAsync(project);
        await Ingest.IngestAsync(project, [.. Enumerable.Range(21, 5).Select(i => EventFactory.Forbidden(project, t0.AddSeconds(i)))]);
        Assert.Single(await HistoryAsync(project));
        Assert.Equal(26, (await fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(project, "fr-par")).GetStatusAsync()).HeadSequence);
    }

    [Fact]
    public async Task ChainGoesOnFromAStoredHeadHashExactlyAsStored()
    {
        // The detector packs its chain head; a stored head that is not in the canonical form
        // (here upper case) must still be continued from as it is, not from a normalised copy.
        var project = await SeedAsync(1);
        await ExecuteAsync("UPDATE audit_events SET hash = upper(hash) WHERE project_id = $p", project);
        await DeactivateDetectorAsync(project);
        await Ingest.IngestAsync(project, [Event(project, Now.AddMinutes(-1), 2)]);

        await using var connection = new SqliteConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT hash FROM audit_events WHERE project_id = $p AND seq = 1), (SELECT prev_hash FROM audit_events WHERE project_id = $p AND seq = 2)";
        command.Parameters.AddWithValue("$p", project);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Matches("^[0-9A-F]{64}$", reader.GetString(0));
        Assert.Equal(reader.GetString(0), reader.GetString(1));
    }

    [Fact]
    public async Task AlertConfigurationIsAtomicAndPersisted()
    {
        var key = Scope.Key(AuditClusterFixture.NewProjectId(), "nl-ams");
        var config = fixture.Grains.GetGrain<IAlertConfigGrain>(key);
        Assert.Empty((await config.GetAsync()).Active);

        var applied = await config.SetActiveAsync(new Dictionary<AlertName, bool>
        {
            [AlertName.ApiKeyCreated] = true,
            [AlertName.ApiKeyDeleted] = true,
            [AlertName.HttpForbiddenErrorRateHigh] = true,
        });
        Assert.Equal(3, applied.Active.Count);
        await config.SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.ApiKeyDeleted] = false, [AlertName.ApiKeyCreationUnauthorized] = true });

        await config.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var reloaded = await config.GetAsync();
        Assert.Equal(
            [AlertName.ApiKeyCreated, AlertName.ApiKeyCreationUnauthorized, AlertName.HttpForbiddenErrorRateHigh],
            reloaded.Active.Order());
        Assert.Equal(2, reloaded.Version);
    }

    [Fact]
    public async Task UnknownRegionAndBadProjectAreClearErrors()
    {
        var region = await Assert.ThrowsAnyAsync<Exception>(() => fixture.Grains.GetGrain<IAlertConfigGrain>("p-1/us-east-1").GetAsync());
        Assert.Contains("fr-par", region.Message);
        var project = await Assert.ThrowsAnyAsync<Exception>(() => Log.QueryAsync(new AuditQuery { ProjectId = "bad project" }));
        Assert.Contains("Project id", project.Message);
    }

    private IServiceProvider Services => ((Orleans.TestingHost.InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;

    private LogMaintenanceService Maintenance => Services.GetRequiredService<LogMaintenanceService>();

    private Task<IReadOnlyList<FiredAlert>> HistoryAsync(string project) => Log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project });

    private async Task DeactivateDetectorAsync(string project)
    {
        var detector = fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(project, "fr-par"));
        await detector.Cast<IGrainManagementExtension>().DeactivateOnIdle();
    }

    private async Task<string> SeedAsync(int count)
    {
        var project = AuditClusterFixture.NewProjectId();
        var events = Enumerable.Range(1, count).Select(i => Event(project, Now.AddMinutes(-30).AddSeconds(i), i)).ToList();
        Assert.Equal(count, (await Ingest.IngestAsync(project, events)).Accepted);
        return project;
    }

    private async Task ExecuteAsync(string sql, string project, params (string Name, object Value)[] parameters)
    {
        await using var connection = new SqliteConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$p", project);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }
}
