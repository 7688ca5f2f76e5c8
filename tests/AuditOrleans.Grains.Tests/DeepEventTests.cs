using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using AuditOrleans.Grains.AuditLog;

namespace AuditOrleans.Grains.Tests;

/// <summary>Events nested as deep as the limits allow, and deeper, on the SQLite file.</summary>
[Collection(ClusterCollection.Name)]
public sealed class DeepEventTests(AuditClusterFixture fixture)
{
    [Fact]
    public Task AnEventTooDeepOnceStoredIsRefusedAndTheOnesAtTheLimitReadBack() =>
        DeepEventAttack.RunAsync(fixture.Grains, fixture.Clock.GetUtcNow());

    [Fact]
    public async Task EventsThatOlderVersionsStoredTwoLevelsDeeperStillReadBackAndVerify()
    {
        // What versions that measured request_body and resource details alone could store:
        // a 64-deep body (65 in the event) and 64-deep resource details (66 in the event).
        var project = AuditClusterFixture.NewProjectId("deep");
        var store = ((Orleans.TestingHost.InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredService<AuditLogWriter>();
        var now = fixture.Clock.GetUtcNow();
        AuditEvent[] events =
        [
            EventFactory.Ok(project, now.AddMinutes(-3), "a") with { Id = "old-body", Region = "fr-par", RequestBody = EventRoundTrip.Nested(64) },
            EventFactory.Ok(project, now.AddMinutes(-2), "b") with
            {
                Id = "old-details",
                Region = "fr-par",
                Resources = [new AuditResource { Id = "b", Type = "t", Details = EventRoundTrip.Nested(64) }],
            },
        ];
        var head = ChainHead.Empty;
        var records = new List<NewRecord>();
        foreach (var e in events)
        {
            var payload = AuditEventJson.Serialize(e);
            var hash = HashChain.Compute(project, "fr-par", head.Sequence + 1, head.Hash, payload);
            records.Add(new NewRecord(e, head.Sequence + 1, payload, head.Hash, hash, now));
            head = new ChainHead(head.Sequence + 1, hash);
        }

        Assert.Equal([65, 66], records.Select(static r => IngestLimits.JsonDepth(r.Payload, 1000)));
        await store.AppendAsync(project, "fr-par", records, []);

        var page = await fixture.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery { ProjectId = project, Order = SortOrder.OldestFirst });
        Assert.Equal(["old-body", "old-details"], page.Records.Select(static r => r.Event.Id));
        Assert.Equal(events[0].RequestBody, page.Records[0].Event.RequestBody);
        Assert.Equal(events[1].Resources![0].Details, page.Records[1].Event.Resources![0].Details);
        Assert.Equal("[{\"id\":\"b\",\"type\":\"t\"," + events[1].Resources![0].Details![1..] + "]", AuditEventJson.SerializeResources(page.Records[1].Event.Resources!));
        var report = await fixture.Grains.GetGrain<IAuditLogGrain>(0).VerifyAsync(project, "fr-par");
        Assert.True(report.IsValid, report.Reason);
        Assert.Equal(2, report.EventsChecked);
    }
}
