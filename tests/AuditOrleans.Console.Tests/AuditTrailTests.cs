using System.Net;
using System.Text.RegularExpressions;
using Xunit;

namespace AuditOrleans.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed partial class AuditTrailTests(ConsoleHostFixture fixture)
{
    [Fact]
    public async Task EveryFieldIsEscapedAndEventsAreNewestFirst()
    {
        var project = ConsoleHostFixture.NewProjectId();
        var t = Events.Now().AddMinutes(-10);
        const string script = "<script>alert('x')</script>";
        var hostile = Events.Call(project, t, 403, method: "Get\"><img src=x onerror=alert(1)>", principal: script, userAgent: "ua <b>bold</b> & \"quoted\"",
            resources: [new AuditResource { Id = "srv-<1>", Type = "instance_server", Name = "</td><script>bad()</script>" }]);
        var newer = Events.Call(project, t.AddMinutes(1), 200, method: "ListServers");
        Assert.Equal(2, (await fixture.SendAsync(project, hostile, newer)).Accepted);

        using var session = fixture.NewSession();
        var page = await session.GetAsync(Link(project, t.AddMinutes(-1), t.AddMinutes(2)), fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.StartsWith("text/html", page.ContentType, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", page.Body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", page.Body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>bold</b>", page.Body, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;", page.Body, StringComparison.Ordinal);
        Assert.Contains("&lt;/td&gt;&lt;script&gt;bad()&lt;/script&gt;", page.Body, StringComparison.Ordinal);
        Assert.Contains("ua &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;", page.Body, StringComparison.Ordinal);
        Assert.Equal([newer.Id!, hostile.Id!], EventIds(page.Body));
        Assert.Contains("default-src 'none'", page.Headers["Content-Security-Policy"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvisibleAndBidirectionalCharactersAreShownAsEscapes()
    {
        // A right-to-left override would show "gnp.exe" as "exe.png"; a zero-width space hides.
        var project = ConsoleHostFixture.NewProjectId();
        var t = Events.Now().AddMinutes(-10);
        var spoof = Events.Call(project, t, 200, userAgent: "curl/8.0 \u202Egnp.exe\u200B ok");
        Assert.Equal(1, (await fixture.SendAsync(project, spoof)).Accepted);

        using var session = fixture.NewSession();
        var page = await session.GetAsync(Link(project, t.AddMinutes(-1), t.AddMinutes(1)), fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("curl/8.0 \\u202Egnp.exe\\u200B ok", page.Body, StringComparison.Ordinal);
        foreach (var hidden in new[] { '\u202E', '\u200B' })
        {
            Assert.DoesNotContain(hidden.ToString(), page.Body, StringComparison.Ordinal);
            // A character reference would be rendered as the character itself.
            Assert.DoesNotContain($"&#x{(int)hidden:X};", page.Body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain($"&#{(int)hidden};", page.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task FiltersNarrowTheEventsAndTheFormShowsThem()
    {
        var project = ConsoleHostFixture.NewProjectId();
        var t = Events.Now().AddMinutes(-20);
        var forbidden = Events.Call(project, t, 403, method: "DeleteServer", principal: "mallory", ip: "192.0.2.66");
        var created = Events.CreateApiKey(project, t.AddSeconds(10));
        var listed = Events.Call(project, t.AddSeconds(20), 200, resources: [new AuditResource { Id = "srv-42", Type = "instance_server" }]);
        var amsterdam = Events.Call(project, t.AddSeconds(30), 403, region: "nl-ams");
        var early = Events.Call(project, t.AddMinutes(-5), 403);
        Assert.Equal(5, (await fixture.SendAsync(project, forbidden, created, listed, amsterdam, early)).Accepted);

        using var session = fixture.NewSession();
        async Task<IReadOnlyList<string>> Ids(string extra)
        {
            var page = await session.GetAsync($"/audit-trail?project_id={project}&recorded_after={Events.Iso(t.AddMinutes(-1))}&recorded_before={Events.Iso(t.AddMinutes(1))}{extra}", fixture.OwnerKey);
            Assert.Equal(HttpStatusCode.OK, page.Status);
            return EventIds(page.Body);
        }

        Assert.Equal([amsterdam.Id!, listed.Id!, created.Id!, forbidden.Id!], await Ids(""));
        Assert.Equal([listed.Id!, created.Id!, forbidden.Id!], await Ids("&region=fr-par"));
        Assert.Equal([amsterdam.Id!, forbidden.Id!], await Ids("&status_code=403"));
        Assert.Equal([forbidden.Id!], await Ids("&status_code=403&region=fr-par"));
        Assert.Equal([created.Id!], await Ids("&method_name=CreateAPIKey"));
        Assert.Equal([forbidden.Id!], await Ids("&principal=mallory"));
        Assert.Equal([forbidden.Id!], await Ids("&source_ip=192.0.2.66"));
        Assert.Equal([created.Id!], await Ids("&product=iam"));
        Assert.Equal([listed.Id!], await Ids("&resource_id=srv-42"));

        // The time range excludes the early event; the form shows every filter applied.
        var form = await session.GetAsync($"/audit-trail?project_id={project}&region=fr-par&status_code=403&principal=mallory&recorded_after={Events.Iso(t.AddMinutes(-1))}&recorded_before={Events.Iso(t.AddMinutes(1))}", fixture.OwnerKey);
        Assert.Equal(Events.Local(t.AddMinutes(-1)), InputValue(form.Body, "recorded_after"));
        Assert.Equal(Events.Local(t.AddMinutes(1)), InputValue(form.Body, "recorded_before"));
        Assert.Equal("403", InputValue(form.Body, "status_code"));
        Assert.Equal("mallory", InputValue(form.Body, "principal"));
        Assert.Contains("<option value=\"fr-par\" selected>", form.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PagesFollowTheContinuationToken()
    {
        var project = ConsoleHostFixture.NewProjectId();
        var t = Events.Now().AddMinutes(-30);
        var events = Enumerable.Range(0, 7).Select(i => Events.Call(project, t.AddSeconds(i))).ToArray();
        await fixture.SendAsync(project, events);

        using var session = fixture.NewSession();
        var seen = new List<string>();
        var link = $"/audit-trail?project_id={project}&recorded_after={Events.Iso(t.AddMinutes(-1))}&recorded_before={Events.Iso(t.AddMinutes(1))}&page_size=3";
        var pages = 0;
        while (link is not null)
        {
            var page = await session.GetAsync(link, fixture.OwnerKey);
            Assert.Equal(HttpStatusCode.OK, page.Status);
            seen.AddRange(EventIds(page.Body));
            link = OlderLink().Match(page.Body) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : null;
            pages++;
            Assert.True(pages <= 3, "The pager did not stop after the last event.");
        }

        Assert.Equal(3, pages);
        Assert.Equal(events.Reverse().Select(static e => e.Id!), seen);
    }

    [Theory]
    [InlineData("&recorded_after=yesterday", "recorded_after &#x27;yesterday&#x27; is not an ISO 8601 time")]
    [InlineData("&status_code=abc", "status_code &#x27;abc&#x27; is not an HTTP status")]
    [InlineData("&region=mars-1", "Valid regions: fr-par, nl-ams, pl-waw")]
    [InlineData("&source_ip=not-an-ip", "source_ip &#x27;not-an-ip&#x27; is not an IPv4 or IPv6 address")]
    [InlineData("&recorded_after=2026-01-02T00:00:00Z&recorded_before=2026-01-01T00:00:00Z", "swap them")]
    [InlineData("&continuation=garbage", "The continuation token is not valid")]
    public async Task BadFiltersAreExplained(string query, string message)
    {
        using var session = fixture.NewSession();
        var page = await session.GetAsync($"/audit-trail?project_id={ConsoleHostFixture.NewProjectId()}{query}", fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.BadRequest, page.Status);
        Assert.Contains(message, page.Body, StringComparison.Ordinal);
        Assert.Contains("class=\"error\"", page.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheLinkOfARealAlertEmailOpensOnTheAlertsTimeFrame()
    {
        var project = ConsoleHostFixture.NewProjectId();
        await fixture.Client.GetGrain<INotificationContactsGrain>(project).AddAsync("secops@example.com", NotificationType.Security);
        await fixture.EnableAsync(project, "fr-par", AlertName.ApiKeyCreated);
        var t = Events.Now().AddMinutes(-3);
        var before = Events.Call(project, t.AddMinutes(-6), 403, method: "CreateAPIKey");
        var created = Events.CreateApiKey(project, t);
        await fixture.SendAsync(project, before, created);
        var fired = Assert.Single(await fixture.Client.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project }));

        var link = await fixture.ReadEmailLinkAsync(project);
        Assert.StartsWith(fixture.BaseUrl + "/audit-trail?", link, StringComparison.Ordinal);
        using var session = fixture.NewSession();
        var page = await session.GetAsync(new Uri(link).PathAndQuery, fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal([created.Id!], EventIds(page.Body));
        Assert.Equal(Events.Local(fired.WindowStart), InputValue(page.Body, "recorded_after"));
        Assert.Equal(Events.Local(fired.WindowEnd), InputValue(page.Body, "recorded_before"));
        Assert.Equal("CreateAPIKey", InputValue(page.Body, "method_name"));
        Assert.Equal(project, InputValue(page.Body, "project_id"));
        Assert.Contains("<option value=\"fr-par\" selected>", page.Body, StringComparison.Ordinal);
    }

    internal static IReadOnlyList<string> EventIds(string html) =>
        [.. EventIdCell().Matches(html).Select(static m => WebUtility.HtmlDecode(m.Groups[1].Value))];

    internal static string? InputValue(string html, string name) =>
        Regex.Match(html, $"<input[^>]* name=\"{Regex.Escape(name)}\" value=\"([^\"]*)\"") is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : null;

    private static string Link(string project, DateTimeOffset after, DateTimeOffset before) =>
        $"/audit-trail?project_id={project}&recorded_after={Events.Iso(after)}&recorded_before={Events.Iso(before)}";

    [GeneratedRegex("<td class=\"id\"><code>([^<]*)</code>")]
    private static partial Regex EventIdCell();

    [GeneratedRegex("<a href=\"([^\"]*)\" rel=\"next\">")]
    private static partial Regex OlderLink();
}
