using System.Net;
using System.Text.RegularExpressions;
using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>/audit-trail/event: one event in full, its request body and resources indented, its place in its chain and whether it verifies.</summary>
[Collection(ConsoleCollection.Name)]
public sealed partial class EventDetailTests(ConsoleHostFixture fixture)
{
    [Fact]
    public async Task TheAuditTrailLinksToEveryFieldInFullWithTheRequestBody()
    {
        var project = ConsoleHostFixture.NewProjectId("d");
        var t = Events.Now().AddMinutes(-10);
        var longAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36 extra-words-at-the-end";
        var e = Events.Call(project, t, 403, method: "CreateSecret", principal: "p-<b>", userAgent: longAgent) with
        {
            RequestBody = "{\"name\":\"<script>alert(1)</script>\",\"tags\":[\"a\",\"b\"],\"note\":\"x\\u202Ey\"}",
            Resources = [new AuditResource { Id = "SCWKEY123", Type = "iam_api_key", Name = "ci", Details = "{\"created_at\":\"2025-11-20T11:11:24Z\"}" }],
        };
        await fixture.SendAsync(project, Events.Call(project, t.AddSeconds(-1)), e, Events.Call(project, t.AddSeconds(1)));

        using var session = fixture.NewSession();
        var list = await session.GetAsync($"/audit-trail?project_id={project}&recorded_after={Events.Iso(t.AddMinutes(-1))}&recorded_before={Events.Iso(t.AddMinutes(1))}", fixture.OwnerKey);
        // The list shortens the user agent (the whole of it is the tooltip) and links to the detail.
        Assert.DoesNotContain(">" + longAgent + "<", list.Body, StringComparison.Ordinal);
        Assert.Contains($"title=\"{longAgent}\"", list.Body, StringComparison.Ordinal);
        var link = WebUtility.HtmlDecode(Regex.Match(list.Body, $"<td class=\"id\"><code>{e.Id}</code><div><a href=\"([^\"]*)\">").Groups[1].Value);
        Assert.Equal($"/audit-trail/event?project_id={project}&region=fr-par&seq=2", link);

        var page = await session.GetAsync(link, fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.DoesNotContain("<script", page.Body, StringComparison.Ordinal);
        Assert.Contains(longAgent, page.Body, StringComparison.Ordinal);
        Assert.Contains("p-&lt;b&gt;", page.Body, StringComparison.Ordinal);
        // The request body, indented, escaped, its invisible characters shown.
        var body = WebUtility.HtmlDecode(Regex.Match(page.Body, "<pre class=\"json\" id=\"request-body\"[^>]*><code>([^<]*)</code>").Groups[1].Value);
        Assert.Equal("{\n  \"name\": \"<script>alert(1)</script>\",\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"note\": \"x\\u202Ey\"\n}", body);
        Assert.DoesNotContain("\u202E", page.Body, StringComparison.Ordinal);
        // Resources with their details; the API key links to its events.
        Assert.Contains("&quot;created_at&quot;: &quot;2025-11-20T11:11:24Z&quot;", page.Body, StringComparison.Ordinal);
        Assert.Contains("resource_id=SCWKEY123", page.Body, StringComparison.Ordinal);
        Assert.Contains("Events on this key", page.Body, StringComparison.Ordinal);
        // Filters by principal and IP, a day either side.
        Assert.Contains($"/audit-trail?project_id={project}&amp;principal=p-%3Cb%3E&amp;recorded_after=", page.Body, StringComparison.Ordinal);
        Assert.Contains($"/audit-trail?project_id={project}&amp;source_ip=198.51.100.7&amp;recorded_after=", page.Body, StringComparison.Ordinal);
        // Readable times, the status and its class.
        Assert.Contains($"><span>{t.UtcDateTime:yyyy-MM-dd}</span> <span>{t.UtcDateTime:HH:mm:ss}</span> <span class=\"offset\">&#x2B;00:00</span></time>", page.Body, StringComparison.Ordinal);
        Assert.Contains("<span class=\"status s4\" title=\"4xx\">403</span>", page.Body, StringComparison.Ordinal);
        // Its place in the chain, and its link verifies.
        Assert.Contains("Position <strong>2</strong> of 3", page.Body, StringComparison.Ordinal);
        Assert.Contains("Its link verifies", page.Body, StringComparison.Ordinal);
        Assert.Contains("rel=\"prev\"", page.Body, StringComparison.Ordinal);
        Assert.Contains("rel=\"next\"", page.Body, StringComparison.Ordinal);

        // The same event by its id.
        var byId = await session.GetAsync($"/audit-trail/event?project_id={project}&id={e.Id}", fixture.OwnerKey);
        Assert.Equal(HttpStatusCode.OK, byId.Status);
        Assert.Contains("Position <strong>2</strong> of 3", byId.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEditedRowDoesNotVerifyAndTheWholeChainSaysWhere()
    {
        var project = ConsoleHostFixture.NewProjectId("d");
        var t = Events.Now().AddMinutes(-10);
        var events = Enumerable.Range(0, 4).Select(i => Events.Call(project, t.AddSeconds(i))).ToArray();
        await fixture.SendAsync(project, events);

        using var session = fixture.NewSession();
        var clean = await session.GetAsync($"/audit-trail/event?project_id={project}&region=fr-par&seq=2&verify=chain", fixture.OwnerKey);
        Assert.Contains("Its link verifies", clean.Body, StringComparison.Ordinal);
        Assert.Contains("The whole chain verifies", clean.Body, StringComparison.Ordinal);

        // Someone with write access to the database changes the third event's status.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={fixture.DatabasePath}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE audit_events SET payload = replace(payload, '\"status_code\":200', '\"status_code\":201') WHERE project_id = $p AND region = 'fr-par' AND seq = 3";
            command.Parameters.AddWithValue("$p", project);
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        var edited = await session.GetAsync($"/audit-trail/event?project_id={project}&region=fr-par&seq=3", fixture.OwnerKey);
        Assert.Contains("Its link does not verify", edited.Body, StringComparison.Ordinal);
        Assert.Contains("Its content does not match its hash", edited.Body, StringComparison.Ordinal);
        var before = await session.GetAsync($"/audit-trail/event?project_id={project}&region=fr-par&seq=2&verify=chain", fixture.OwnerKey);
        Assert.Contains("Its link verifies", before.Body, StringComparison.Ordinal);
        Assert.Contains("The chain does not verify</strong> at position 3, after this event: the chain up to this event verifies", before.Body, StringComparison.Ordinal);
        var after = await session.GetAsync($"/audit-trail/event?project_id={project}&region=fr-par&seq=4&verify=chain", fixture.OwnerKey);
        Assert.Contains("at position 3, before this event", after.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownEventsAndOtherProjectsAreRefused()
    {
        var project = ConsoleHostFixture.NewProjectId("d");
        var t = Events.Now().AddMinutes(-10);
        var e = Events.Call(project, t);
        await fixture.SendAsync(project, e);
        var (stranger, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, ConsoleHostFixture.NewProjectId("d"));
        var (manager, _) = await fixture.NewKeyAsync(ApiKeyRole.AlertsManager, project);
        var (reader, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, project);
        using var session = fixture.NewSession();

        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync($"/audit-trail/event?project_id={project}&id={e.Id}", reader)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync($"/audit-trail/event?project_id={project}&id={e.Id}", stranger)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync($"/audit-trail/event?project_id={project}&id={e.Id}", manager)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await session.GetAsync($"/audit-trail/event?project_id={project}&region=fr-par&seq=99", reader)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await session.GetAsync($"/audit-trail/event?project_id={project}&id=nope", reader)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await session.GetAsync($"/audit-trail/event?project_id={project}&region=mars-1&seq=1", reader)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await session.GetAsync($"/audit-trail/event?project_id={project}&region=fr-par&seq=0", reader)).Status);
    }
}
