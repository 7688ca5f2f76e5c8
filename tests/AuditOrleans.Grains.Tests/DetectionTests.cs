using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class DetectionTests(AuditClusterFixture fixture)
{
    private IIngestGrain Ingest => fixture.Grains.GetGrain<IIngestGrain>(0);

    private async Task EnableAsync(string projectId, string region, params AlertName[] alerts) =>
        await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(projectId, region))
            .SetActiveAsync(alerts.ToDictionary(static a => a, static _ => true));

    private Task<IReadOnlyList<FiredAlert>> HistoryAsync(string projectId) =>
        fixture.Grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = projectId });

    [Fact]
    public async Task TwentyForbiddenDoNotFireTheTwentyFirstFiresOncePerEpisode()
    {
        var project = AuditClusterFixture.NewProjectId();
        await EnableAsync(project, "fr-par", AlertName.HttpForbiddenErrorRateHigh);
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-30);

        var first20 = Enumerable.Range(0, 20).Select(i => EventFactory.Forbidden(project, t0.AddSeconds(i * 10))).ToList();
        var result = await Ingest.IngestAsync(project, first20);
        Assert.Equal(20, result.Accepted);
        Assert.Empty(await HistoryAsync(project));

        await Ingest.IngestAsync(project, [EventFactory.Forbidden(project, t0.AddSeconds(200))]);
        var fired = Assert.Single(await HistoryAsync(project));
        Assert.Equal(AlertName.HttpForbiddenErrorRateHigh, fired.Alert);
        Assert.Equal(21, fired.Facts.ForbiddenCount);
        Assert.Equal("user-1", Assert.Single(fired.Facts.TopPrincipals).Value);

        // Ten more in the same episode: no new firing.
        await Ingest.IngestAsync(project, [.. Enumerable.Range(0, 10).Select(i => EventFactory.Forbidden(project, t0.AddSeconds(210 + i)))]);
        Assert.Single(await HistoryAsync(project));
    }

    [Fact]
    public async Task ApiKeyCreationFiresOncePerEventAndDuplicatesDoNot()
    {
        var project = AuditClusterFixture.NewProjectId();
        await EnableAsync(project, "fr-par", AlertName.ApiKeyCreated);
        var e = EventFactory.ApiKey(project, fixture.Clock.GetUtcNow().AddMinutes(-1), "CreateAPIKey", 200);

        var first = await Ingest.IngestAsync(project, [e]);
        var again = await Ingest.IngestAsync(project, [e]);

        Assert.Equal((1, 0), (first.Accepted, first.Duplicates));
        Assert.Equal((0, 1), (again.Accepted, again.Duplicates));
        var fired = Assert.Single(await HistoryAsync(project));
        Assert.Equal("SCWABCDEFGHIJKLMNOPQ", fired.Facts.ApiKeyId);
    }
}
