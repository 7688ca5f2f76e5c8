using Orleans;
using Xunit;

namespace AuditOrleans.Testing;

/// <summary>
/// The attack of an event nested so deep that it passes validation field by field but not as a
/// stored event (a request_body 64 deep, a resource's extra fields 63 deep): it must be refused
/// with a message, and the events at the limit, stored beside it, must read back, page, export,
/// render and verify. Shared by the SQLite and the PostgreSQL test collections.
/// </summary>
public static class DeepEventAttack
{
    public static async Task RunAsync(IGrainFactory grains, DateTimeOffset now)
    {
        var project = AuditClusterFixture.NewProjectId("deep");
        var at = now.AddMinutes(-5);
        AuditEvent Event(string id, int second) => EventFactory.Ok(project, at.AddSeconds(second), $"srv-{id}") with { Id = id };
        AuditResource Resource(string details) => new() { Id = "srv-deep", Type = "instance_server", Details = details };

        var batch = new List<AuditEvent>
        {
            Event("body-64", 0) with { RequestBody = EventRoundTrip.Nested(IngestLimits.MaxEventJsonDepth) },
            Event("details-63", 1) with { Resources = [Resource("{\"x\":" + EventRoundTrip.Nested(IngestLimits.MaxEventJsonDepth - 2) + "}")] },
            Event("before", 2),
            Event("body-63", 3) with { RequestBody = EventRoundTrip.Nested(IngestLimits.MaxRequestBodyDepth) },
            Event("details-62", 4) with { Resources = [Resource(EventRoundTrip.Nested(IngestLimits.MaxResourceDetailsDepth))] },
            Event("after", 5),
        };
        var result = await grains.GetGrain<IIngestGrain>(0).IngestAsync(project, batch);

        Assert.Equal(4, result.Accepted);
        Assert.Equal(
            [(0, "body-64", "request_body"), (1, "details-63", "resources[0]")],
            result.Errors.Select(static e => (e.Index, e.EventId, e.Field)));
        Assert.Contains($"more than {IngestLimits.MaxRequestBodyDepth} levels deep", result.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains($"more than {IngestLimits.MaxResourceDetailsDepth} levels deep", result.Errors[1].Message, StringComparison.Ordinal);

        // Page by page, one event per page, the events at the limit read back as sent.
        var records = await EventRoundTrip.AssertReadableAsync(grains, project, at.AddMinutes(-1), now, pageSize: 1, "deep events");
        Assert.Equal(["before", "body-63", "details-62", "after"], records.Select(static r => r.Event.Id));
        Assert.Equal(batch[3].RequestBody, records[1].Event.RequestBody);
        Assert.Equal(batch[4].Resources![0].Details, records[2].Event.Resources![0].Details);
        Assert.Equal(IngestLimits.MaxEventJsonDepth, IngestLimits.JsonDepth(AuditEventJson.Serialize(records[1].Event), 1000));
        Assert.Equal(IngestLimits.MaxEventJsonDepth, IngestLimits.JsonDepth(AuditEventJson.Serialize(records[2].Event), 1000));
    }
}
