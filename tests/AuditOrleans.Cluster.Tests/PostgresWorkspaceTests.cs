using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Cluster.Tests;

/// <summary>
/// The console's reads on PostgreSQL (README.md, Web console): pages over every region read per
/// region and merged, the filters, activity buckets and tops, one event with its chain check,
/// the list of projects. The same statements run on SQLite in the console's tests.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresWorkspaceTests(PostgresClusterFixture fixture)
{
    private static readonly string[] Regions = ["fr-par", "nl-ams", "pl-waw"];
    private static readonly string[] Principals = ["alice", "mallory", "robot"];
    private static readonly string[] Ips = ["198.51.100.7", "192.0.2.66", "2001:db8::5"];

    private IAuditLogGrain Log => fixture.Grains.GetGrain<IAuditLogGrain>(0);

    [PostgresFact]
    public async Task PagesOverEveryRegionMergeInTimeOrderAndFilter()
    {
        var (project, t0, events) = await SendAsync();

        foreach (var order in new[] { SortOrder.NewestFirst, SortOrder.OldestFirst })
        {
            var read = await ReadAllAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), Order = order, PageSize = 7 });
            var expected = order == SortOrder.NewestFirst ? events.AsEnumerable().Reverse() : events;
            Assert.Equal(expected.Select(static e => e.Id), read.Select(static r => r.Event.Id));
        }

        await AssertFilterAsync(new AuditQuery { ProjectId = project, PrincipalId = "mallory", PageSize = 5 }, events, static e => e.PrincipalId == "mallory");
        await AssertFilterAsync(new AuditQuery { ProjectId = project, SourceIp = "2001:db8::5", PageSize = 5 }, events, static e => e.SourceIp == "2001:db8::5");
        await AssertFilterAsync(new AuditQuery { ProjectId = project, StatusClass = 4, PageSize = 5 }, events, static e => e.StatusCode / 100 == 4);
        await AssertFilterAsync(new AuditQuery { ProjectId = project, StatusCode = 404, Region = "nl-ams", PageSize = 5 }, events, static e => e.StatusCode == 404 && e.Locality == "nl-ams");
        await AssertFilterAsync(new AuditQuery { ProjectId = project, MethodName = "DeleteServer", PageSize = 5 }, events, static e => e.MethodName == "DeleteServer");
        await AssertFilterAsync(
            new AuditQuery { ProjectId = project, RecordedAfter = t0.AddSeconds(20), RecordedBefore = t0.AddSeconds(40), PrincipalId = "alice", PageSize = 3 },
            events,
            e => e.RecordedAt >= t0.AddSeconds(20) && e.RecordedAt <= t0.AddSeconds(40) && e.PrincipalId == "alice");
    }

    [PostgresFact]
    public async Task ActivityCountsPerBucketAndRanksByForbiddenThenEvents()
    {
        var (project, t0, events) = await SendAsync();
        var activity = await Log.GetActivityAsync(new ActivityQuery { ProjectId = project, From = t0, To = t0.AddMinutes(1), Bucket = TimeSpan.FromSeconds(10), Top = 3 });

        Assert.Equal(6, activity.Buckets.Count);
        for (var b = 0; b < 6; b++)
        {
            var inBucket = events.Where(e => e.RecordedAt >= t0.AddSeconds(b * 10) && e.RecordedAt < t0.AddSeconds((b + 1) * 10)).ToList();
            var bucket = activity.Buckets[b];
            Assert.Equal(t0.AddSeconds(b * 10), bucket.Start);
            Assert.Equal(inBucket.Count, bucket.Events);
            Assert.Equal(inBucket.Count(static e => e.StatusCode == 403), bucket.Forbidden);
            Assert.Equal(inBucket.Count(static e => e.StatusCode is >= 400 and < 500), bucket.ClientErrors);
            Assert.Equal(inBucket.Count(static e => e.StatusCode >= 500), bucket.ServerErrors);
        }

        var expected = events.GroupBy(static e => e.PrincipalId!)
            .Select(static g => new ActivityCount(g.Key, g.Count(), g.Count(static e => e.StatusCode == 403)))
            .OrderByDescending(static c => c.Forbidden).ThenByDescending(static c => c.Events).ToList();
        Assert.Equal("mallory", activity.TopPrincipals[0].Value);
        Assert.Equal(expected, activity.TopPrincipals);

        var nlAms = await Log.GetActivityAsync(new ActivityQuery { ProjectId = project, Region = "nl-ams", From = t0, To = t0.AddMinutes(1), Bucket = TimeSpan.FromMinutes(1) });
        Assert.Equal(events.Count(static e => e.Locality == "nl-ams"), Assert.Single(nlAms.Buckets).Events);
    }

    [PostgresFact]
    public async Task OneEventIsFoundByIdAndPlaceWithItsLinkVerified()
    {
        var (project, _, events) = await SendAsync();
        var target = events[17];

        var found = await Log.FindEventAsync(project, target.Id!);
        Assert.NotNull(found);
        Assert.Equal(target.Id, found.Record.Event.Id);
        Assert.True(found.LinkVerified, found.LinkProblem);
        Assert.Equal(events.Count(e => e.Locality == target.Locality), found.HeadSequence);

        var byPlace = await Log.GetEventAsync(project, found.Record.Region, found.Record.Sequence);
        Assert.Equal(target.Id, byPlace!.Record.Event.Id);
        Assert.Null(await Log.GetEventAsync(project, found.Record.Region, found.HeadSequence + 1));
        Assert.Null(await Log.FindEventAsync(project, "no-such-event"));

        Assert.Contains(project, await Log.ListProjectsAsync(1000));
    }

    /// <summary>60 events one second apart, spread over three regions, three principals and IPs, statuses 200/403/404/500.</summary>
    private async Task<(string Project, DateTimeOffset T0, List<AuditEvent> Events)> SendAsync()
    {
        var project = AuditClusterFixture.NewProjectId("ws");
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-30);
        t0 = new DateTimeOffset(t0.Ticks - (t0.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var events = Enumerable.Range(0, 60).Select(i =>
        {
            var status = new[] { 200, 403, 200, 404, 200, 500 }[i % 6];
            var principal = status == 403 ? "mallory" : Principals[i % 3];
            return EventFactory.Ok(project, t0.AddSeconds(i), $"srv-{i}", Regions[(i / 2) % 3]) with
            {
                PrincipalId = principal,
                SourceIp = Ips[(i / 4) % 3],
                StatusCode = status,
                MethodName = i % 5 == 0 ? "DeleteServer" : "CreateServer",
            };
        }).ToList();
        var result = await fixture.Grains.GetGrain<IIngestGrain>(0).IngestAsync(project, events);
        Assert.Equal(60, result.Accepted);
        return (project, t0, events);
    }

    private async Task AssertFilterAsync(AuditQuery query, List<AuditEvent> events, Func<AuditEvent, bool> filter)
    {
        var read = await ReadAllAsync(query with { RecordedAfter = query.RecordedAfter ?? events[0].RecordedAt!.Value.AddMinutes(-1) });
        Assert.Equal(events.Where(filter).Reverse().Select(static e => e.Id), read.Select(static r => r.Event.Id));
        Assert.NotEmpty(read);
    }

    private async Task<List<AuditRecord>> ReadAllAsync(AuditQuery query)
    {
        var records = new List<AuditRecord>();
        for (var pages = 0; pages < 100; pages++)
        {
            var page = await Log.QueryAsync(query);
            Assert.True(page.Records.Count <= query.PageSize);
            records.AddRange(page.Records);
            if (page.ContinuationToken is null)
            {
                return records;
            }

            query = query with { ContinuationToken = page.ContinuationToken };
        }

        throw new InvalidOperationException("Paging did not end.");
    }
}
