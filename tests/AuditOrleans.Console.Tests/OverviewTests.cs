using System.Net;
using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>/: the landing page, its project picker, and what it shows of a project.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class OverviewTests(ConsoleHostFixture fixture)
{
    [Fact]
    public async Task SigningInLandsOnTheOverviewWhichShowsTheFiringChartsAndTheAttacker()
    {
        var incident = await fixture.SharedAsync("incident", () => Incident.CreateAsync(fixture));
        using var session = fixture.NewSession();
        var signedIn = await session.SignInAsync(fixture.OwnerKey, "");
        Assert.Equal("/", signedIn.Location);

        var page = await session.GetAsync($"/?project_id={incident.ProjectId}");

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("<a href=\"/?project_id=" + incident.ProjectId + "\" class=\"active\" aria-current=\"page\">Overview</a>", page.Body, StringComparison.Ordinal);
        // Per region: the alerts on and the firings.
        Assert.Contains("<span class=\"alert-chip high\">HttpForbiddenErrorRateHigh</span>", page.Body, StringComparison.Ordinal);
        Assert.Contains("<span class=\"alert-chip medium\">ApiKeyCreated</span>", page.Body, StringComparison.Ordinal);
        // The charts: firings over 24 hours and 7 days, 403 per 5 minutes with the threshold; inline SVG without script or style attribute.
        foreach (var id in new[] { "firings-24h", "firings-7d", "forbidden-24h" })
        {
            Assert.Contains($"<svg class=\"chart\" viewBox=", page.Body, StringComparison.Ordinal);
            Assert.Contains($"id=\"{id}\"", page.Body, StringComparison.Ordinal);
        }

        Assert.Contains("2 firing(s), 1 of high severity", page.Body, StringComparison.Ordinal);
        Assert.Contains("25 HTTP 403 of 34 events", page.Body, StringComparison.Ordinal);
        Assert.Contains("class=\"threshold\"", page.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", page.Body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" style=", page.Body, StringComparison.OrdinalIgnoreCase);
        // Top principals and source IPs, and the latest firings with their timelines.
        Assert.Contains("<td>mallory</td><td class=\"num\">29</td><td class=\"num bad\">25</td>", page.Body, StringComparison.Ordinal);
        Assert.Contains("<td>192.0.2.66</td><td class=\"num\">29</td><td class=\"num bad\">25</td>", page.Body, StringComparison.Ordinal);
        Assert.Contains($"/incident?project_id={incident.ProjectId}&amp;firing={incident.RateFiring.Id}", page.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOpenEpisodeShowsInItsRegionWithALinkToItsTimeline()
    {
        var project = ConsoleHostFixture.NewProjectId("oe");
        await fixture.EnableAsync(project, "nl-ams", AlertName.HttpForbiddenErrorRateHigh);
        var t = Events.Now().AddMinutes(-1);
        await fixture.SendAsync(project, [.. Enumerable.Range(0, 22).Select(i => Events.Call(project, t.AddSeconds(i), 403, region: "nl-ams", principal: "mallory"))]);
        var firing = Assert.Single(await fixture.Client.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project }));

        using var session = fixture.NewSession();
        var page = await session.GetAsync($"/?project_id={project}", fixture.OwnerKey);

        var rows = System.Text.RegularExpressions.Regex.Matches(page.Body, "<tr>\\s*<th scope=\"row\">([a-z-]+)</th>(.*?)</tr>", System.Text.RegularExpressions.RegexOptions.Singleline)
            .ToDictionary(static m => m.Groups[1].Value, static m => m.Groups[2].Value);
        Assert.Contains($"<a class=\"episode-open\" href=\"/incident?project_id={project}&amp;firing={firing.Id}\">HTTP 403 since", rows["nl-ams"], StringComparison.Ordinal);
        Assert.DoesNotContain("episode-open", rows["fr-par"], StringComparison.Ordinal);
        Assert.Contains("<th scope=\"col\">Open episode</th>", page.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OwnerKeysPickAmongTheProjectsAndThePickIsRemembered()
    {
        var project = ConsoleHostFixture.NewProjectId("o");
        await fixture.SendAsync(project, Events.Call(project, Events.Now().AddMinutes(-5)));
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);

        var landing = await session.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, landing.Status);
        Assert.Contains($"<option value=\"{project}\"></option>", landing.Body, StringComparison.Ordinal);
        Assert.Contains($"<a href=\"/?project_id={project}\">{project}</a>", landing.Body, StringComparison.Ordinal);

        var picked = await session.GetAsync($"/?project_id={project}");
        Assert.Equal(HttpStatusCode.OK, picked.Status);
        Assert.Equal(project, session.Cookies[ProjectCookieName]);
        Assert.Contains(session.LastSetCookies, static c => c.Contains("httponly", StringComparison.OrdinalIgnoreCase) && c.Contains("samesite=strict", StringComparison.OrdinalIgnoreCase));

        // Every page now opens on it.
        var trail = await session.GetAsync("/audit-trail");
        Assert.Equal(project, AuditTrailTests.InputValue(trail.Body, "project_id"));
        Assert.Single(AuditTrailTests.EventIds(trail.Body));
        Assert.Contains($"value=\"{project}\"", (await session.GetAsync("/alerts/history")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AProjectKeySeesItsOwnProjectAndNoOtherProjectIds()
    {
        var project = ConsoleHostFixture.NewProjectId("o");
        await fixture.SendAsync(project, Events.Call(project, Events.Now().AddMinutes(-5)));
        var (key, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, project);
        var (manager, _) = await fixture.NewKeyAsync(ApiKeyRole.AlertsManager, project);
        using var session = fixture.NewSession();

        var page = await session.GetAsync("/", key);
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains($"value=\"{project}\" readonly", page.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("<datalist", page.Body, StringComparison.Ordinal);
        Assert.Contains("id=\"forbidden-24h\"", page.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync("/?project_id=someone-else", key)).Status);

        // An AlertsManager key sees the alerts and firings, not the events.
        var managed = await session.GetAsync("/", manager);
        Assert.Equal(HttpStatusCode.OK, managed.Status);
        Assert.Contains("id=\"firings-24h\"", managed.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"forbidden-24h\"", managed.Body, StringComparison.Ordinal);
        Assert.Contains("cannot read the events of this project", managed.Body, StringComparison.Ordinal);
    }

    private const string ProjectCookieName = "auditorleans_project";
}
