using System.Net;
using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>The console enforces the roles (docs/security.md, Who is trusted) on the server, not only in the HTML.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class RoleTests(ConsoleHostFixture fixture)
{
    [Fact]
    public async Task AReadOnlyKeySeesDisabledCheckboxesAndCannotSave()
    {
        var project = ConsoleHostFixture.NewProjectId();
        await fixture.EnableAsync(project, "fr-par", AlertName.ApiKeyDeleted);
        var (key, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, project);
        using var session = fixture.NewSession();
        Assert.Equal(HttpStatusCode.Found, (await session.SignInAsync(key)).Status);

        var page = await session.GetAsync($"/alerts?project_id={project}&region=fr-par");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal(5, page.Body.Split("name=\"active\"").Length - 1);
        Assert.Equal(5, page.Body.Split("name=\"active\" value=").Skip(1).Count(static b => b[..b.IndexOf('>', StringComparison.Ordinal)].Contains(" disabled", StringComparison.Ordinal)));
        Assert.Contains("<button type=\"submit\" id=\"save\" disabled>", page.Body, StringComparison.Ordinal);
        Assert.Contains("can view these alerts but not change them", page.Body, StringComparison.Ordinal);
        Assert.Equal(["ApiKeyDeleted"], AlertsTests.Checked(page.Body));

        // A hand-made post (valid session and token) is refused by the server.
        var post = await session.PostFormAsync("/alerts", AlertsTests.Form(project, "fr-par", ["ApiKeyCreated"], ["ApiKeyDeleted"]));
        Assert.Equal(HttpStatusCode.Forbidden, post.Status);
        Assert.Contains("can view alerts but not change them", post.Body, StringComparison.Ordinal);
        var bearerPost = await session.PostFormAsync("/alerts", AlertsTests.Form(project, "fr-par", ["ApiKeyCreated"], ["ApiKeyDeleted"]), withCsrf: false, bearer: key);
        Assert.Equal(HttpStatusCode.Forbidden, bearerPost.Status);
        var config = await fixture.Client.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync();
        Assert.Equal([AlertName.ApiKeyDeleted], config.Active);

        // It still reads its project's events and history.
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync($"/audit-trail?project_id={project}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync($"/alerts/history?project_id={project}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync("/metrics", key)).Status);
    }

    [Fact]
    public async Task AnAlertsManagerSavesInItsProjectOnlyAndOtherProjectsLookTheSameWhetherTheyExistOrNot()
    {
        var project = ConsoleHostFixture.NewProjectId();
        var existing = ConsoleHostFixture.NewProjectId();
        await fixture.EnableAsync(existing, "fr-par", AlertName.ApiKeyCreated);
        var (key, _) = await fixture.NewKeyAsync(ApiKeyRole.AlertsManager, project);
        using var session = fixture.NewSession();
        await session.SignInAsync(key);

        // Its own project is the default and editable.
        var own = await session.GetAsync("/alerts?region=fr-par");
        Assert.Contains($"value=\"{project}\" readonly", own.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Found, (await session.PostFormAsync("/alerts", AlertsTests.Form(project, "fr-par", ["ApiKeyCreated"], []))).Status);
        Assert.Equal([AlertName.ApiKeyCreated], (await fixture.Client.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync()).Active);

        var other = await session.GetAsync($"/alerts?project_id={existing}&region=fr-par");
        var absent = ConsoleHostFixture.NewProjectId();
        var missing = await session.GetAsync($"/alerts?project_id={absent}&region=fr-par");
        Assert.Equal(HttpStatusCode.Forbidden, other.Status);
        Assert.Equal(HttpStatusCode.Forbidden, missing.Status);
        Assert.DoesNotContain("checkbox", other.Body, StringComparison.Ordinal);
        Assert.Equal(Normalized(other.Body, existing), Normalized(missing.Body, absent));
        Assert.Contains("does not have the ViewAlerts permission on project", other.Body, StringComparison.Ordinal);
        var events = await session.GetAsync($"/audit-trail?project_id={existing}");
        Assert.Equal(HttpStatusCode.Forbidden, events.Status);
        var post = await session.PostFormAsync("/alerts", AlertsTests.Form(existing, "fr-par", [], ["ApiKeyCreated"]));
        Assert.Equal(HttpStatusCode.Forbidden, post.Status);
        Assert.Equal([AlertName.ApiKeyCreated], (await fixture.Client.GetGrain<IAlertConfigGrain>(Scope.Key(existing, "fr-par")).GetAsync()).Active);
    }

    /// <summary>A page with the project id and the (per-request) anti-forgery token blanked out.</summary>
    private static string Normalized(string html, string projectId) =>
        System.Text.RegularExpressions.Regex.Replace(html.Replace(projectId, "X", StringComparison.Ordinal), "name=\"_csrf\" value=\"[^\"]*\"", "name=\"_csrf\"");

    [Fact]
    public async Task AnEventWriterKeyCannotUseTheConsoleOrReadMetrics()
    {
        var project = ConsoleHostFixture.NewProjectId();
        var (key, _) = await fixture.NewKeyAsync(ApiKeyRole.EventWriter, project);
        using var session = fixture.NewSession();

        var signIn = await session.SignInAsync(key);
        Assert.Equal(HttpStatusCode.Forbidden, signIn.Status);
        Assert.Contains("An EventWriter key can only send events", signIn.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("auditorleans_session", session.Cookies.Keys);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync($"/audit-trail?project_id={project}", key)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync("/metrics", key)).Status);
    }

    [Fact]
    public async Task RevokingAKeyEndsItsSessions()
    {
        var project = ConsoleHostFixture.NewProjectId();
        var (key, id) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, project);
        using var session = fixture.NewSession();
        await session.SignInAsync(key);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync($"/audit-trail?project_id={project}")).Status);

        await fixture.Client.GetGrain<IApiKeyGrain>(0).RevokeAsync(id);
        var after = await session.GetAsync($"/audit-trail?project_id={project}");

        Assert.Equal(HttpStatusCode.Found, after.Status);
        Assert.Contains("ended=1", after.Location, StringComparison.Ordinal);
        Assert.Contains("Your session ended", (await session.GetAsync(after.Location!)).Body, StringComparison.Ordinal);
    }
}
