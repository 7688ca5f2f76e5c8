using System.Net;
using System.Text.Json;
using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>/api/annotations: firings as Grafana annotations, queried as Grafana's Infinity data source does.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class AnnotationsTests(ConsoleHostFixture fixture)
{
    [Fact]
    public async Task AGrafanaStyleQueryGetsTheFiringsOfItsRange()
    {
        var incident = await fixture.SharedAsync("incident", () => Incident.CreateAsync(fixture));
        var firing = incident.RateFiring;
        var from = incident.Start.AddMinutes(-30).ToUnixTimeMilliseconds();
        var to = Events.Now().AddMinutes(5).ToUnixTimeMilliseconds();
        using var session = fixture.NewSession();

        // What Infinity sends: GET with ${__from} and ${__to} in epoch milliseconds, the key as a bearer token.
        var answer = await session.GetAsync($"/api/annotations?from={from}&to={to}&project_id={incident.ProjectId}", fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.StartsWith("application/json", answer.ContentType, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(answer.Body);
        var items = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, items.Count);
        var rate = items.Single(static i => i.GetProperty("alert").GetString() == "HttpForbiddenErrorRateHigh");
        Assert.Equal(firing.WindowStart.ToUnixTimeMilliseconds(), rate.GetProperty("time").GetInt64());
        Assert.Equal(firing.WindowEnd.ToUnixTimeMilliseconds(), rate.GetProperty("timeEnd").GetInt64());
        Assert.Equal($"HttpForbiddenErrorRateHigh (High) in {incident.ProjectId}/fr-par", rate.GetProperty("title").GetString());
        Assert.Contains("top principals mallory (", rate.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Contains($"/incident?project_id={incident.ProjectId}&firing={firing.Id}", rate.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal($"auditorleans,HttpForbiddenErrorRateHigh,high,fr-par,{incident.ProjectId}", rate.GetProperty("tags").GetString());

        // A range before the incident has none; ISO 8601 works as well; filters narrow.
        var earlier = await session.GetAsync($"/api/annotations?from={from - 3_600_000}&to={from}&project_id={incident.ProjectId}", fixture.OwnerKey);
        Assert.Equal("[]", earlier.Body);
        var iso = await session.GetAsync($"/api/annotations?from={Events.Iso(incident.Start)}&to={Events.Iso(Events.Now().AddMinutes(1))}&project_id={incident.ProjectId}&alert=ApiKeyCreated", fixture.OwnerKey);
        Assert.Equal("ApiKeyCreated", Assert.Single(JsonDocument.Parse(iso.Body).RootElement.EnumerateArray()).GetProperty("alert").GetString());
    }

    [Fact]
    public void TheShippedDashboardOverlaysTheFiringsThroughInfinity()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(BrowserSetup.RepositoryRoot(), "deploy", "grafana", "auditorleans-dashboard.json")));
        var annotation = Assert.Single(dashboard.RootElement.GetProperty("annotations").GetProperty("list").EnumerateArray());
        Assert.Equal("yesoreyeram-infinity-datasource", annotation.GetProperty("datasource").GetProperty("type").GetString());
        var target = annotation.GetProperty("target");
        Assert.Equal("/api/annotations", target.GetProperty("url").GetString());
        Assert.Equal(["from=${__from}", "to=${__to}"], target.GetProperty("url_options").GetProperty("params").EnumerateArray().Select(static p => $"{p.GetProperty("key").GetString()}={p.GetProperty("value").GetString()}"));
        Assert.Equal(["time", "timeEnd", "title", "text", "tags"], target.GetProperty("columns").EnumerateArray().Select(static c => c.GetProperty("selector").GetString()!));
        Assert.Contains(dashboard.RootElement.GetProperty("__inputs").EnumerateArray(), static i => i.GetProperty("pluginId").GetString() == "yesoreyeram-infinity-datasource");
    }

    [Fact]
    public async Task ItNeedsAKeyThatMayReadTheProjectsAlertHistory()
    {
        var incident = await fixture.SharedAsync("incident", () => Incident.CreateAsync(fixture));
        var (reader, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, incident.ProjectId);
        var (writer, _) = await fixture.NewKeyAsync(ApiKeyRole.EventWriter, incident.ProjectId);
        var (stranger, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, ConsoleHostFixture.NewProjectId("a"));
        using var session = fixture.NewSession();
        var range = $"from={incident.Start.AddHours(-1).ToUnixTimeMilliseconds()}&to={Events.Now().AddMinutes(5).ToUnixTimeMilliseconds()}";

        var none = await session.GetAsync($"/api/annotations?{range}");
        Assert.Equal(HttpStatusCode.Unauthorized, none.Status);
        Assert.StartsWith("Bearer", none.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await session.GetAsync($"/api/annotations?{range}", "ao_0000000000000000_nope")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync($"/api/annotations?{range}", writer)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync($"/api/annotations?{range}&project_id={incident.ProjectId}", stranger)).Status);
        Assert.Equal("[]", (await session.GetAsync($"/api/annotations?{range}", stranger)).Body);

        // A project key without project_id: its own project.
        var own = await session.GetAsync($"/api/annotations?{range}", reader);
        Assert.Equal(HttpStatusCode.OK, own.Status);
        Assert.Equal(2, JsonDocument.Parse(own.Body).RootElement.GetArrayLength());
        Assert.Equal(HttpStatusCode.BadRequest, (await session.GetAsync("/api/annotations?from=yesterday", reader)).Status);
    }
}
