using System.Net;
using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>The Audit Trail's download: every page of the filtered result, as JSON lines (Export-AuditEvent's format) and CSV.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ExportTests(ConsoleHostFixture fixture)
{
    [Fact]
    public async Task JsonLinesAreTheProvidersFormatOverEveryPageAndGoBackIn()
    {
        // The provider's export plus more than one page (1000) of generated events.
        var project = ConsoleHostFixture.NewProjectId("x");
        var provider = ProviderEvents.For(project);
        var t = ProviderEvents.Range.From.AddDays(1);
        var generated = Enumerable.Range(0, 1100).Select(i => Events.Call(project, t.AddSeconds(i), i % 7 == 0 ? 403 : 200)).ToArray();
        Assert.Equal(provider.Count, (await fixture.SendAsync(project, [.. provider])).Accepted);
        Assert.Equal(generated.Length, (await fixture.SendAsync(project, generated)).Accepted);
        var (from, to) = ProviderEvents.Range;

        using var session = fixture.NewSession();
        var download = await session.GetAsync($"/audit-trail/export?format=jsonl&project_id={project}&recorded_after={Events.Iso(from)}&recorded_before={Events.Iso(to)}", fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.OK, download.Status);
        Assert.StartsWith("application/x-ndjson", download.ContentType, StringComparison.Ordinal);
        Assert.Contains("attachment", download.Headers["Content-Disposition"], StringComparison.Ordinal);
        Assert.Contains($"audit-{project}-20250801T000000Z-20251201T000000Z.jsonl", download.Headers["Content-Disposition"], StringComparison.Ordinal);
        Assert.EndsWith("\n", download.Body, StringComparison.Ordinal);
        var lines = download.Body.TrimEnd('\n').Split('\n');

        // Exactly what Export-AuditEvent writes: every stored record, oldest first.
        var expected = new List<string>();
        string? token = null;
        do
        {
            var page = await fixture.Client.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery
            {
                ProjectId = project, RecordedAfter = from, RecordedBefore = to, Order = SortOrder.OldestFirst, PageSize = 1000, ContinuationToken = token,
            });
            expected.AddRange(page.Records.Select(AuditEventJson.SerializeRecord));
            token = page.ContinuationToken;
        }
        while (token is not null);
        Assert.Equal(provider.Count + generated.Length, lines.Length);
        Assert.Equal(expected, lines);

        // Back in through the ingestion path (as Send-AuditEvent sends a file), into another project: the same events.
        var other = ConsoleHostFixture.NewProjectId("x");
        var again = lines.Select(l => AuditEventJson.Parse(l) with { ProjectId = other }).ToArray();
        foreach (var batch in again.Chunk(500))
        {
            Assert.Equal(batch.Length, (await fixture.SendAsync(other, batch)).Accepted);
        }

        var copy = await session.GetAsync($"/audit-trail/export?format=jsonl&project_id={other}&recorded_after={Events.Iso(from)}&recorded_before={Events.Iso(to)}", fixture.OwnerKey);
        Assert.Equal(lines.Select(l => l.Replace(project, other, StringComparison.Ordinal)), copy.Body.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task TheDownloadKeepsTheFilters()
    {
        var project = ConsoleHostFixture.NewProjectId("x");
        var t = Events.Now().AddMinutes(-30);
        var forbidden = Events.Call(project, t, 403, principal: "mallory");
        var notFound = Events.Call(project, t.AddSeconds(1), 404, principal: "mallory");
        var ok = Events.Call(project, t.AddSeconds(2), 200, principal: "mallory");
        var other = Events.Call(project, t.AddSeconds(3), 403, principal: "alice");
        await fixture.SendAsync(project, forbidden, notFound, ok, other);

        using var session = fixture.NewSession();
        var page = await session.GetAsync($"/audit-trail?project_id={project}&principal=mallory&status_class=4xx&recorded_after={Events.Iso(t.AddMinutes(-1))}&recorded_before={Events.Iso(t.AddMinutes(1))}", fixture.OwnerKey);
        Assert.Equal([notFound.Id!, forbidden.Id!], AuditTrailTests.EventIds(page.Body));
        var link = System.Text.RegularExpressions.Regex.Match(page.Body, "<a href=\"([^\"]*format=jsonl[^\"]*)\" download>").Groups[1].Value;
        var download = await session.GetAsync(WebUtility.HtmlDecode(link), fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.OK, download.Status);
        Assert.Equal([forbidden.Id!, notFound.Id!], download.Body.TrimEnd('\n').Split('\n').Select(static l => AuditEventJson.Parse(l).Id!));
    }

    [Fact]
    public async Task CsvHasOneColumnPerFieldQuotedAndSafeInASpreadsheet()
    {
        var project = ConsoleHostFixture.NewProjectId("x");
        var t = Events.Now().AddMinutes(-30);
        var tricky = Events.Call(project, t, 403, principal: "=HYPERLINK(\"http://evil\")", userAgent: "agent, with \"quotes\"") with
        {
            RequestBody = "{\"name\":\"x\"}",
            Resources = [new AuditResource { Id = "srv-1", Type = "instance_server", Name = "web" }],
        };
        await fixture.SendAsync(project, tricky);

        using var session = fixture.NewSession();
        var download = await session.GetAsync($"/audit-trail/export?format=csv&project_id={project}&recorded_after={Events.Iso(t.AddMinutes(-1))}&recorded_before={Events.Iso(t.AddMinutes(1))}", fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.OK, download.Status);
        Assert.StartsWith("text/csv", download.ContentType, StringComparison.Ordinal);
        Assert.Contains(".csv", download.Headers["Content-Disposition"], StringComparison.Ordinal);
        var body = download.Body;
        Assert.StartsWith("recorded_at,id,project_id,region,locality,organization_id,principal_id,source_ip,user_agent,product_name,service_name,method_name,status_code,request_id,resources,request_body,kind,result,failure_reason,method,origin,mfa_type,country_code,system_kind,source,system_name\n", body, StringComparison.Ordinal);
        Assert.Contains(",\"'=HYPERLINK(\"\"http://evil\"\")\",", body, StringComparison.Ordinal);
        Assert.Contains(",\"agent, with \"\"quotes\"\"\",", body, StringComparison.Ordinal);
        Assert.Contains(",\"[{\"\"id\"\":\"\"srv-1\"\",\"\"type\"\":\"\"instance_server\"\",\"\"name\"\":\"\"web\"\"}]\",\"{\"\"name\"\":\"\"x\"\"}\",api,,,,,,,,,\n", body, StringComparison.Ordinal);
        Assert.Contains($"{AuditEventJson.FormatTime(t)},{tricky.Id},{project},fr-par,fr-par,,", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheDownloadNeedsThePagesPermission()
    {
        var project = ConsoleHostFixture.NewProjectId("x");
        var (readOnly, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, project);
        var (manager, _) = await fixture.NewKeyAsync(ApiKeyRole.AlertsManager, project);
        var (stranger, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, ConsoleHostFixture.NewProjectId("x"));
        using var session = fixture.NewSession();
        var link = $"/audit-trail/export?format=jsonl&project_id={project}";

        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync(link, readOnly)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync(link, manager)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync(link, stranger)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await session.GetAsync(link, "ao_0000000000000000_nope")).Status);
        var anonymous = await session.GetAsync(link);
        Assert.Equal(HttpStatusCode.Found, anonymous.Status);
        Assert.StartsWith("/sign-in", anonymous.Location, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await session.GetAsync($"/audit-trail/export?format=xml&project_id={project}", readOnly)).Status);
    }
}
