using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>The provider's own exports (data/provider-events.jsonl) are accepted as recorded.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ProviderEventsTests(AuditClusterFixture fixture)
{
    public static IReadOnlyList<string> Lines() =>
        [.. File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "provider-events.jsonl")).Where(static l => l.Length > 0)];

    [Fact]
    public void EveryRecordedEventParsesAndSerializesBackWithItsFields()
    {
        var lines = Lines();
        Assert.Equal(71, lines.Count);
        foreach (var line in lines)
        {
            var e = AuditEventJson.Parse(line);
            var again = AuditEventJson.Parse(AuditEventJson.Serialize(e));
            Assert.Equal(e.Id, again.Id);
            Assert.Equal(e.RecordedAt, again.RecordedAt);
            Assert.Equal(e.PrincipalId, again.PrincipalId);
            Assert.Equal(e.RequestBody is null, again.RequestBody is null);
            Assert.Equal(e.Resources?.Count, again.Resources?.Count);
            Assert.Equal(AuditEventJson.Serialize(e), AuditEventJson.Serialize(again));
        }
    }

    [Fact]
    public async Task AllSeventyOneAreAcceptedAndRoutedAndKeepTheirBodies()
    {
        var defaultProject = AuditClusterFixture.NewProjectId("prov");
        var events = Lines().Select(AuditEventJson.Parse).ToList();

        var result = await fixture.Grains.GetGrain<IIngestGrain>(0).IngestAsync(defaultProject, events);

        Assert.Empty(result.Errors);
        Assert.Equal(71, result.Accepted + result.Duplicates);

        // A global IAM event without project_id belongs to its organization's default project, in fr-par.
        var renew = events.First(static e => e.MethodName == "RenewJWT" && e.ProjectId is null);
        var page = await fixture.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery
        {
            ProjectId = renew.OrganizationId!,
            Region = "fr-par",
            RecordedAfter = renew.RecordedAt!.Value.AddSeconds(-1),
            RecordedBefore = renew.RecordedAt!.Value.AddSeconds(1),
            MethodName = "RenewJWT",
        });
        var stored = Assert.Single(page.Records, r => r.Event.Id == renew.Id);
        Assert.Equal("fr-par", stored.Region);
        Assert.Contains("renew_token", stored.Event.RequestBody);
        Assert.Equal(renew.RecordedAt, stored.Event.RecordedAt);
    }
}
