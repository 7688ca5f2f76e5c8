using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Cluster.Tests;

/// <summary>The audit log, alerts and contacts on PostgreSQL: the same statements as on SQLite.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresLogTests(PostgresClusterFixture fixture)
{
    private IIngestGrain Ingest => fixture.Grains.GetGrain<IIngestGrain>(0);

    private IAuditLogGrain Log => fixture.Grains.GetGrain<IAuditLogGrain>(0);

    [PostgresFact]
    public async Task EventsAreAppendedQueriedAndVerified()
    {
        var project = AuditClusterFixture.NewProjectId();
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-20);
        var events = Enumerable.Range(0, 5).Select(i => Events.Ok(project, t0.AddSeconds(i).AddTicks(i * 13), $"srv-{i}")).ToList();
        events.Add(Events.Forbidden(project, t0.AddSeconds(10), region: "pl-waw"));

        var result = await Ingest.IngestAsync(project, events);
        var again = await Ingest.IngestAsync(project, events[..2]);

        Assert.Equal((6, 0, 0), (result.Accepted, result.Duplicates, result.Rejected));
        Assert.Equal((0, 2), (again.Accepted, again.Duplicates));

        var page = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), PageSize = 4 });
        Assert.Equal(4, page.Records.Count);
        Assert.Equal(events[5].Id, page.Records[0].Event.Id);
        Assert.NotNull(page.ContinuationToken);
        var rest = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), PageSize = 4, ContinuationToken = page.ContinuationToken });
        Assert.Equal([events[1].Id, events[0].Id], rest.Records.Select(static r => r.Event.Id));
        Assert.Null(rest.ContinuationToken);

        // Microseconds survive the round trip.
        Assert.Equal(events[1].RecordedAt!.Value.UtcTicks / 10, rest.Records[0].Event.RecordedAt!.Value.UtcTicks / 10);

        var byResource = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), ResourceId = "srv-3" });
        Assert.Equal(events[3].Id, Assert.Single(byResource.Records).Event.Id);
        var forbidden = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), StatusCode = 403, Region = "pl-waw" });
        Assert.Single(forbidden.Records);

        var report = await Log.VerifyAsync(project, "fr-par");
        Assert.True(report.IsValid, report.Reason);
        Assert.Equal(5, report.EventsChecked);
        Assert.Equal(5, report.HeadSequence);
    }

    [PostgresFact]
    public async Task ForbiddenBurstFiresOnceWithFactsAndOneDeliveryPerSecurityContact()
    {
        var project = AuditClusterFixture.NewProjectId();
        await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par"))
            .SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });
        var contacts = fixture.Grains.GetGrain<INotificationContactsGrain>(project);
        await contacts.AddAsync("secops@example.com", NotificationType.Security);
        await contacts.AddAsync("billing@example.com", NotificationType.Billing);
        var both = await contacts.AddAsync("billing@example.com", NotificationType.Security);
        Assert.Equal(NotificationType.Security | NotificationType.Billing, both.Types);

        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-10);
        var burst = Enumerable.Range(0, 25)
            .Select(i => Events.Forbidden(project, t0.AddSeconds(i), principal: i % 3 == 0 ? "intruder" : "user-1", ip: i % 2 == 0 ? "198.51.100.7" : "203.0.113.5"))
            .ToList();
        await Ingest.IngestAsync(project, burst[..12]);
        await Ingest.IngestAsync(project, burst[12..]);

        var fired = Assert.Single(await Log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project }));
        Assert.Equal(AlertName.HttpForbiddenErrorRateHigh, fired.Alert);
        Assert.Equal(21, fired.Facts.ForbiddenCount);
        Assert.Equal([("user-1", 14), ("intruder", 7)], fired.Facts.TopPrincipals.Select(static c => (c.Value, c.Count)));
        Assert.Equal(["billing@example.com", "secops@example.com"], fired.Deliveries.Select(static d => d.Recipient));
        Assert.Equal(2, (await contacts.GetAsync()).Count);
        Assert.True(await contacts.RemoveAsync("billing@example.com"));
    }
}
