using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Silo.Tests;

/// <summary>
/// The real host as a process on its embedded SQLite default: ready line, clean SIGTERM, and
/// kill -9 after acknowledgements loses nothing (events, chain, 403 window, fired alerts).
/// </summary>
public sealed class SiloProcessTests : IAsyncLifetime
{
    private readonly TempDirectory directory = new("auditorleans-silo");
    private SiloProcess silo = null!;
    private int gatewayPort;

    public async Task InitializeAsync()
    {
        var ports = FreePort.Next(2);
        gatewayPort = ports[1];
        silo = new SiloProcess("silo", new Dictionary<string, string>
        {
            ["Cluster:SiloPort"] = ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cluster:GatewayPort"] = ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Security:Enabled"] = "false",
        }, workingDirectory: directory.Path);
        await silo.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await silo.DisposeAsync();
        directory.Dispose();
    }

    [Fact]
    public async Task StartsOnTheEmbeddedDefaultAndStopsCleanlyOnSigterm()
    {
        Assert.True(File.Exists(Path.Combine(directory.Path, "data", "auditorleans.db")));
        Assert.Equal(0, await silo.StopAsync());
        Assert.Contains("AuditOrleans silo stopped", silo.Output);
        Assert.DoesNotContain("Data Source=", silo.Output);
    }

    [Fact]
    public async Task KillNineAfterAcknowledgementsLosesNothing()
    {
        var project = AuditClusterFixture.NewProjectId("kill");
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-10);
        var acknowledged = new List<string>();
        await using (var client = await ConnectAsync())
        {
            await client.Client.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par"))
                .SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });
            var ingest = client.Client.GetGrain<IIngestGrain>(0);
            for (var batch = 0; batch < 4; batch++)
            {
                var events = Enumerable.Range(batch * 50, 50).Select(i => Event(project, t0.AddMilliseconds(i), $"ok-{i}", 200)).ToList();
                var result = await ingest.IngestAsync(project, events);
                Assert.Equal(50, result.Accepted);
                acknowledged.AddRange(events.Select(static e => e.Id!));
            }

            var forbidden = Enumerable.Range(0, 15).Select(i => Event(project, t0.AddSeconds(i), $"f-{i}", 403)).ToList();
            Assert.Equal(15, (await ingest.IngestAsync(project, forbidden)).Accepted);
            acknowledged.AddRange(forbidden.Select(static e => e.Id!));
        }

        await silo.KillAsync();
        await silo.StartAsync();

        await using (var client = await ConnectAsync())
        {
            var ingest = client.Client.GetGrain<IIngestGrain>(0);
            var after = Enumerable.Range(15, 6).Select(i => Event(project, t0.AddSeconds(i), $"f-{i}", 403)).ToList();
            Assert.Equal(6, (await ingest.IngestAsync(project, after)).Accepted);
            acknowledged.AddRange(after.Select(static e => e.Id!));
            Assert.Single(await History(client));
        }

        // Killed again in the middle of the episode: the firing is not repeated.
        await silo.KillAsync();
        await silo.StartAsync();
        await using (var client = await ConnectAsync())
        {
            var more = Enumerable.Range(21, 3).Select(i => Event(project, t0.AddSeconds(i), $"f-{i}", 403)).ToList();
            Assert.Equal(3, (await client.Client.GetGrain<IIngestGrain>(0).IngestAsync(project, more)).Accepted);
            acknowledged.AddRange(more.Select(static e => e.Id!));
            Assert.Single(await History(client));

            var log = client.Client.GetGrain<IAuditLogGrain>(0);
            var stored = new List<string>();
            string? token = null;
            do
            {
                var page = await log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), ContinuationToken = token, PageSize = 100 });
                stored.AddRange(page.Records.Select(static r => r.Event.Id!));
                token = page.ContinuationToken;
            }
            while (token is not null);

            Assert.Equal(acknowledged.Order(), stored.Order());
            var report = await log.VerifyAsync(project, "fr-par");
            Assert.True(report.IsValid, report.Reason);
            Assert.Equal(acknowledged.Count, report.EventsChecked);
        }

        async Task<IReadOnlyList<FiredAlert>> History(TestClient client) =>
            await client.Client.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project });
    }

    private Task<TestClient> ConnectAsync() =>
        TestClient.ConnectAsync("auditorleans", "auditorleans", [gatewayPort], TimeSpan.FromSeconds(30));

    private static AuditEvent Event(string project, DateTimeOffset at, string id, int status) => new()
    {
        Id = id,
        RecordedAt = at,
        Locality = "fr-par",
        ProjectId = project,
        PrincipalId = "svc-account",
        SourceIp = "198.51.100.20",
        ProductName = "instance",
        MethodName = "ListServers",
        StatusCode = status,
    };
}
