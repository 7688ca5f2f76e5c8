using System.Net;
using System.Text.RegularExpressions;
using Xunit;

namespace AuditOrleans.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed partial class AlertsTests(ConsoleHostFixture fixture)
{
    [Fact]
    public async Task SavingAppliesAllChangesInOneWriteAndShowsTheAppliedState()
    {
        var project = ConsoleHostFixture.NewProjectId();
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);
        var page = await session.GetAsync($"/alerts?project_id={project}&region=nl-ams");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Empty(Checked(page.Body));
        Assert.Equal(5, AlertRow().Matches(page.Body).Count);
        Assert.Contains("More than 20 HTTP 403 (Forbidden) responses within 5 minutes.", page.Body, StringComparison.Ordinal);
        Assert.Contains("<option value=\"nl-ams\" selected>", page.Body, StringComparison.Ordinal);

        var saved = await session.PostFormAsync("/alerts", Form(project, "nl-ams", active: ["ApiKeyCreated", "HttpForbiddenErrorRateHigh"], shown: []));
        Assert.Equal(HttpStatusCode.Found, saved.Status);
        var after = await session.GetAsync(saved.Location!);

        Assert.Equal(["ApiKeyCreated", "HttpForbiddenErrorRateHigh"], Checked(after.Body));
        Assert.Contains("Changes saved: ApiKeyCreated activated, HttpForbiddenErrorRateHigh activated.", after.Body, StringComparison.Ordinal);
        Assert.Contains("ApiKeyCreated can never fire in nl-ams", after.Body, StringComparison.Ordinal); // IAM events count in fr-par
        Assert.DoesNotContain("HttpForbiddenErrorRateHigh can never", after.Body, StringComparison.Ordinal);
        var config = await fixture.Client.GetGrain<IAlertConfigGrain>(Scope.Key(project, "nl-ams")).GetAsync();
        Assert.Equal(1, config.Version); // both in one write
        Assert.Equal([AlertName.ApiKeyCreated, AlertName.HttpForbiddenErrorRateHigh], config.Active.Order());
        var otherRegion = await fixture.Client.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync();
        Assert.Empty(otherRegion.Active);

        // Unticking one and ticking another is again one write.
        await session.PostFormAsync("/alerts", Form(project, "nl-ams", active: ["ApiKeyCreated", "ApiKeyDeleted"], shown: ["ApiKeyCreated", "HttpForbiddenErrorRateHigh"]));
        config = await fixture.Client.GetGrain<IAlertConfigGrain>(Scope.Key(project, "nl-ams")).GetAsync();
        Assert.Equal(2, config.Version);
        Assert.Equal([AlertName.ApiKeyCreated, AlertName.ApiKeyDeleted], config.Active.Order());
    }

    [Fact]
    public async Task CustomRulesAreListedAndSwitchedWithTheAlerts()
    {
        var project = ConsoleHostFixture.NewProjectId();
        var grain = fixture.Client.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par"));
        var rule = await grain.CreateRuleAsync(new AlertRuleDraft
        {
            Name = "failed-sign-ins", Description = "three <b>failed</b> sign-ins", Query = "event.kind == 'authentication' && event.result == 'failure'",
            EvaluationWindow = TimeSpan.FromMinutes(5), Occurrences = 3, Severity = RuleSeverity.Critical, DryRun = true,
        });
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);

        var page = await session.GetAsync($"/alerts?project_id={project}&region=fr-par");
        Assert.Contains("failed-sign-ins", page.Body, StringComparison.Ordinal);
        Assert.Contains("three &lt;b&gt;failed&lt;/b&gt; sign-ins", page.Body, StringComparison.Ordinal);
        Assert.Contains("dry run", page.Body, StringComparison.Ordinal);
        Assert.Contains($"name=\"rule_enabled\" value=\"{rule.Id}\" checked", page.Body, StringComparison.Ordinal);

        // Unticked (the form showed it enabled), with one alert ticked: both applied.
        var saved = await session.PostFormAsync("/alerts", [.. Form(project, "fr-par", active: ["ApiKeyCreated"], shown: []), new("shown_rule_enabled", rule.Id)]);
        var after = await session.GetAsync(saved.Location!);
        Assert.Contains("1 custom rule(s) switched", after.Body, StringComparison.Ordinal);
        var config = await grain.GetAsync();
        Assert.False(Assert.Single(config.Rules).Enabled);
        Assert.Equal([AlertName.ApiKeyCreated], config.Active);
    }

    [Fact]
    public async Task OnlyTheCheckboxesChangedInTheFormAreApplied()
    {
        var project = ConsoleHostFixture.NewProjectId();
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);
        await session.GetAsync($"/alerts?project_id={project}&region=fr-par");

        // Someone else enables an alert (e.g. with Enable-AuditAlert) after this form was shown.
        await fixture.EnableAsync(project, "fr-par", AlertName.ApiKeyDeletionUnauthorized);
        await session.PostFormAsync("/alerts", Form(project, "fr-par", active: ["ApiKeyCreated"], shown: []));

        var config = await fixture.Client.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync();
        Assert.Equal([AlertName.ApiKeyCreated, AlertName.ApiKeyDeletionUnauthorized], config.Active.Order());
    }

    [Fact]
    public async Task AFormWithoutItsAntiforgeryTokenChangesNothing()
    {
        var project = ConsoleHostFixture.NewProjectId();
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);
        await session.GetAsync($"/alerts?project_id={project}&region=fr-par");

        var refused = await session.PostFormAsync("/alerts", Form(project, "fr-par", active: ["ApiKeyCreated"], shown: []), withCsrf: false);
        var forged = await session.PostFormAsync("/alerts", [.. Form(project, "fr-par", active: ["ApiKeyCreated"], shown: []), new("_csrf", "CfDJ8forged")], withCsrf: false);

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal(HttpStatusCode.BadRequest, forged.Status);
        Assert.Contains("The form could not be verified", refused.Body, StringComparison.Ordinal);
        Assert.Empty((await fixture.Client.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync()).Active);
    }

    [Fact]
    public async Task UnknownAlertOrRegionInTheFormIsRefusedWithTheValidNames()
    {
        var project = ConsoleHostFixture.NewProjectId();
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);
        await session.GetAsync($"/alerts?project_id={project}&region=fr-par");

        var badAlert = await session.PostFormAsync("/alerts", Form(project, "fr-par", active: ["ApiKeyStolen"], shown: []));
        await session.GetAsync($"/alerts?project_id={project}&region=fr-par");
        var badRegion = await session.PostFormAsync("/alerts", Form(project, "mars-1", active: ["ApiKeyCreated"], shown: []));

        Assert.Equal(HttpStatusCode.BadRequest, badAlert.Status);
        Assert.Contains("Valid names: ApiKeyCreated, ApiKeyCreationUnauthorized, ApiKeyDeleted, ApiKeyDeletionUnauthorized, HttpForbiddenErrorRateHigh", badAlert.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badRegion.Status);
        Assert.Contains("Valid regions: fr-par, nl-ams, pl-waw", badRegion.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HistoryShowsFiringsWithTheirDeliveryStateAndLink()
    {
        var project = ConsoleHostFixture.NewProjectId();
        await fixture.Client.GetGrain<INotificationContactsGrain>(project).AddAsync("secops@example.com", NotificationType.Security);
        await fixture.EnableAsync(project, "fr-par", AlertName.ApiKeyCreationUnauthorized);
        var attempt = Events.CreateApiKey(project, Events.Now().AddMinutes(-2), 403);
        await fixture.SendAsync(project, attempt);

        using var session = fixture.NewSession();
        var page = await session.GetAsync($"/alerts/history?project_id={project}", fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("ApiKeyCreationUnauthorized", page.Body, StringComparison.Ordinal);
        Assert.Contains("secops@example.com", page.Body, StringComparison.Ordinal);
        Assert.Matches("class=\"delivery (pending|retrying|delivered|failed)\"", page.Body);
        Assert.Contains("SCWABCDEFGHIJKLMNOPQ", page.Body, StringComparison.Ordinal);
        var link = WebUtility.HtmlDecode(EventsLink().Match(page.Body).Groups[1].Value);
        var events = await session.GetAsync(link, fixture.OwnerKey);
        Assert.Equal([attempt.Id!], AuditTrailTests.EventIds(events.Body));

        var filtered = await session.GetAsync($"/alerts/history?project_id={project}&alert=ApiKeyDeleted", fixture.OwnerKey);
        Assert.Contains("No alert has fired here yet.", filtered.Body, StringComparison.Ordinal);
    }

    internal static List<KeyValuePair<string, string>> Form(string project, string region, string[] active, string[] shown) =>
    [
        new("project_id", project),
        new("region", region),
        .. active.Select(static a => new KeyValuePair<string, string>("active", a)),
        .. shown.Select(static a => new KeyValuePair<string, string>("shown_active", a)),
    ];

    internal static IReadOnlyList<string> Checked(string html) =>
        [.. CheckedBox().Matches(html).Select(static m => m.Groups[1].Value)];

    [GeneratedRegex("<input type=\"checkbox\" id=\"alert-[A-Za-z]+\" name=\"active\" value=\"([A-Za-z]+)\" checked")]
    private static partial Regex CheckedBox();

    [GeneratedRegex("<input type=\"checkbox\" id=\"alert-")]
    private static partial Regex AlertRow();

    [GeneratedRegex("<a href=\"(/audit-trail\\?[^\"]*)\">Events</a>")]
    private static partial Regex EventsLink();
}
