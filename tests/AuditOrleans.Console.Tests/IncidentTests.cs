using System.Net;
using System.Text.RegularExpressions;
using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>/incident: a firing's narrative on one time axis, by its id or by a span.</summary>
[Collection(ConsoleCollection.Name)]
public sealed partial class IncidentTests(ConsoleHostFixture fixture)
{
    [Fact]
    public async Task AFiringsTimelineHoldsTheImplicatedEventsInOrderAndTheKeyCreated()
    {
        var incident = await fixture.SharedAsync("incident", () => Incident.CreateAsync(fixture));
        var firing = incident.RateFiring;
        Assert.Contains(firing.Facts.TopPrincipals, static p => p.Value == Incident.Attacker);

        using var session = fixture.NewSession();
        var page = await session.GetAsync($"/incident?project_id={incident.ProjectId}&firing={firing.Id}", fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("HttpForbiddenErrorRateHigh", page.Body, StringComparison.Ordinal);
        // mallory's 403s, the key mallory created and mallory's calls after, in time order (alice is not implicated).
        var expected = incident.Forbidden.Append(incident.KeyCreated).Concat(incident.After).Select(static e => e.Id!).ToList();
        Assert.Equal(expected, DetailIds(page.Body).Select(id => Id(incident, id)).ToList());
        Assert.Contains("API keys created, deleted", page.Body, StringComparison.Ordinal);
        Assert.Contains("<th scope=\"col\">From the firing's event</th>", page.Body, StringComparison.Ordinal);
        // Charts: the rate with the firing's window and marks, the lanes; no script, no style attribute.
        Assert.Contains("id=\"incident-rate\"", page.Body, StringComparison.Ordinal);
        Assert.Contains("id=\"incident-lanes\"", page.Body, StringComparison.Ordinal);
        Assert.Contains("class=\"band\"", page.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", page.Body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" style=", page.Body, StringComparison.OrdinalIgnoreCase);
        // The view's own link, to share.
        Assert.Contains($"<a href=\"/incident?project_id={incident.ProjectId}&amp;firing={firing.Id}\">Link to this view</a>", page.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASpanFollowsThePrincipalsItNamesOrTheSourcesOfMost403s()
    {
        var incident = await fixture.SharedAsync("incident", () => Incident.CreateAsync(fixture));
        using var session = fixture.NewSession();
        var from = Events.Iso(incident.Start.AddMinutes(-1));
        var to = Events.Iso(incident.Start.AddMinutes(15));

        var alice = await session.GetAsync($"/incident?project_id={incident.ProjectId}&from={from}&to={to}&principal=alice", fixture.OwnerKey);
        Assert.Equal(HttpStatusCode.OK, alice.Status);
        Assert.Equal(incident.Before.Select(static e => e.Id!).Append(incident.KeyCreated.Id!), DetailIds(alice.Body).Select(id => Id(incident, id)));

        // Naming nobody: the sources of most 403s (mallory and its IP).
        var busiest = await session.GetAsync($"/incident?project_id={incident.ProjectId}&region=fr-par&from={from}&to={to}", fixture.OwnerKey);
        Assert.Equal(HttpStatusCode.OK, busiest.Status);
        Assert.Contains("principal mallory", busiest.Body, StringComparison.Ordinal);
        Assert.Contains("source IP 192.0.2.66", busiest.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("principal alice", busiest.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheAuditTrailLinksToTheTimelineOfItsRange()
    {
        var incident = await fixture.SharedAsync("incident", () => Incident.CreateAsync(fixture));
        using var session = fixture.NewSession();
        var list = await session.GetAsync($"/audit-trail?project_id={incident.ProjectId}&principal=mallory&recorded_after={Events.Iso(incident.Start)}&recorded_before={Events.Iso(incident.Start.AddMinutes(15))}", fixture.OwnerKey);

        var link = WebUtility.HtmlDecode(Regex.Match(list.Body, "<a href=\"(/incident\\?[^\"]*)\">Incident timeline of this range</a>").Groups[1].Value);
        Assert.Equal($"/incident?project_id={incident.ProjectId}&from={Uri.EscapeDataString(AuditEventJson.FormatTime(incident.Start))}&to={Uri.EscapeDataString(AuditEventJson.FormatTime(incident.Start.AddMinutes(15)))}&principal=mallory", link);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync(link, fixture.OwnerKey)).Status);
    }

    [Fact]
    public async Task TheHistoryLinksEachFiringToItsTimelineWhichTellsItsLifecycle()
    {
        var project = ConsoleHostFixture.NewProjectId("il");
        await fixture.Client.GetGrain<INotificationContactsGrain>(project).AddAsync("secops@example.com", NotificationType.Security);
        await fixture.EnableAsync(project, "fr-par", AlertName.ApiKeyCreated);
        var (manager, managerId) = await fixture.NewKeyAsync(ApiKeyRole.AlertsManager, project);
        using var session = fixture.NewSession();
        await session.SignInAsync(manager);

        // A silence of ApiKeyCreated for the principal "robot", then a key created by "mallory": it fires and is taken and closed.
        var silenced = await session.PostFormAsync("/alerts/silences",
        [
            new("project_id", project), new("alert", "ApiKeyCreated"), new("principal_id", "robot"), new("schedule", "once"), new("duration_minutes", "60"), new("reason", "key rotation job"),
        ]);
        Assert.Equal(HttpStatusCode.Found, silenced.Status);
        await fixture.SendAsync(project, Events.CreateApiKey(project, Events.Now().AddMinutes(-1)) with { PrincipalId = "mallory" });
        var firing = Assert.Single(await fixture.Client.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project }));
        await session.GetAsync($"/alerts/history?project_id={project}");
        await session.PostFormAsync("/alerts/history/take", [new("project_id", project), new("firing_id", firing.Id), new("comment", "looking at mallory")]);
        await session.GetAsync($"/alerts/history?project_id={project}");
        await session.PostFormAsync("/alerts/history/close", [new("project_id", project), new("firing_id", firing.Id), new("comment", "key revoked")]);

        // The manager's key may not read events: its history says so instead of offering links it would be refused.
        var managerHistory = await session.GetAsync($"/alerts/history?project_id={project}");
        Assert.DoesNotContain(">Timeline</a>", managerHistory.Body, StringComparison.Ordinal);
        Assert.Contains("needs ViewEvents", managerHistory.Body, StringComparison.Ordinal);

        // One click from the history, for a key that may read events.
        using var owner = fixture.NewSession();
        var history = await owner.GetAsync($"/alerts/history?project_id={project}", fixture.OwnerKey);
        var link = WebUtility.HtmlDecode(Regex.Match(history.Body, "<a href=\"(/incident\\?[^\"]*)\">Timeline</a>").Groups[1].Value);
        Assert.Equal($"/incident?project_id={project}&firing={firing.Id}", link);
        var timeline = await owner.GetAsync(link, fixture.OwnerKey);
        Assert.Equal(HttpStatusCode.OK, timeline.Status);

        var steps = Regex.Matches(timeline.Body, "<tr class=\"step-([a-z]+)\">").Select(static m => m.Groups[1].Value).ToList();
        Assert.Equal(["silence", "firing", "taken", "closed"], steps.Where(static s => s != "delivered").ToList());
        Assert.Contains("ApiKeyCreated fired (fr-par)", timeline.Body, StringComparison.Ordinal);
        Assert.Contains($"ApiKeyCreated taken by key {managerId}", timeline.Body, StringComparison.Ordinal);
        Assert.Contains("looking at mallory", timeline.Body, StringComparison.Ordinal);
        Assert.Contains("key revoked", timeline.Body, StringComparison.Ordinal);
        Assert.Contains("key rotation job", timeline.Body, StringComparison.Ordinal);

        // Another project's key sees none of it.
        var (stranger, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, ConsoleHostFixture.NewProjectId("il"));
        using var other = fixture.NewSession();
        var refused = await other.GetAsync(link, stranger);
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.DoesNotContain("looking at mallory", refused.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadQueriesAreExplained()
    {
        var project = ConsoleHostFixture.NewProjectId("i");
        var (stranger, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, ConsoleHostFixture.NewProjectId("i"));
        using var session = fixture.NewSession();

        Assert.Equal(HttpStatusCode.NotFound, (await session.GetAsync($"/incident?project_id={project}&firing=0197a0000000700080000000000000aa", fixture.OwnerKey)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await session.GetAsync($"/incident?project_id={project}", fixture.OwnerKey)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await session.GetAsync($"/incident?project_id={project}&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", fixture.OwnerKey)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await session.GetAsync($"/incident?project_id={project}&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", fixture.OwnerKey)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync($"/incident?project_id={project}&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z", stranger)).Status);
    }

    /// <summary>The event ids of the timeline table's detail links, in order.</summary>
    internal static IReadOnlyList<string> DetailIds(string html) =>
        [.. DetailLink().Matches(html).Select(static m => WebUtility.HtmlDecode(m.Groups[1].Value))];

    private static string Id(Incident incident, string seqLink)
    {
        // The links name the event by its place in its chain: map back to the ids sent, in the order they were sent.
        var all = incident.Before.Concat(incident.Forbidden).Append(incident.KeyCreated).Concat(incident.After).ToList();
        return all[int.Parse(seqLink, System.Globalization.CultureInfo.InvariantCulture) - 1].Id!;
    }

    [GeneratedRegex("<td class=\"id\"><a href=\"/audit-trail/event\\?project_id=[^&]*&amp;region=fr-par&amp;seq=(\\d+)\">")]
    private static partial Regex DetailLink();
}
