using System.Net;
using System.Text.RegularExpressions;
using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>The Silences tab and the take and close forms of the Alert history tab.</summary>
[Collection(ConsoleCollection.Name)]
public sealed partial class LifecycleTests(ConsoleHostFixture fixture)
{
    private string OwnerKeyId => fixture.OwnerKey[3..19];

    [Fact]
    public async Task ASilenceIsCreatedFromTheConsoleHoldsItsAlertAndEndsVisibly()
    {
        var project = ConsoleHostFixture.NewProjectId();
        await fixture.Client.GetGrain<INotificationContactsGrain>(project).AddAsync("secops@example.com", NotificationType.Security);
        await fixture.EnableAsync(project, "fr-par", AlertName.ApiKeyCreated);
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);

        var empty = await session.GetAsync($"/alerts/silences?project_id={project}");
        Assert.Equal(HttpStatusCode.OK, empty.Status);
        Assert.Contains("No silence is in force", empty.Body, StringComparison.Ordinal);
        Assert.Contains("aria-current=\"page\">Silences</a>", empty.Body, StringComparison.Ordinal);

        var created = await session.PostFormAsync("/alerts/silences",
        [
            new("project_id", project), new("alert", "ApiKeyCreated"), new("region", "fr-par"), new("schedule", "once"),
            new("duration_minutes", "60"), new("reason", "Key rotation <CHG-1234>"),
        ]);
        Assert.Equal(HttpStatusCode.Found, created.Status);
        var silence = Assert.Single(await fixture.Client.GetGrain<IAlertSilenceGrain>(project).ListAsync(false));
        Assert.Equal((OwnerKeyId, SilenceState.Active, "fr-par"), (silence.CreatedBy, silence.State, silence.Region));
        var listed = await session.GetAsync(created.Location!);
        Assert.Contains($"Silence {silence.Id} created.", listed.Body, StringComparison.Ordinal);
        Assert.Contains("Key rotation &lt;CHG-1234&gt;", listed.Body, StringComparison.Ordinal);
        Assert.Contains($"by key <code>{OwnerKeyId}</code>", listed.Body, StringComparison.Ordinal);
        Assert.Contains("class=\"silence active\"", listed.Body, StringComparison.Ordinal);

        // The firing it holds is in the history, silenced, with the silence's id.
        await fixture.SendAsync(project, Events.CreateApiKey(project, Events.Now().AddSeconds(-5)));
        var history = await session.GetAsync($"/alerts/history?project_id={project}&silence_id={silence.Id}");
        Assert.Contains("class=\"firing-status silenced\"", history.Body, StringComparison.Ordinal);
        Assert.Contains("class=\"delivery silenced\"", history.Body, StringComparison.Ordinal);
        Assert.Contains($"<code>{silence.Id}</code>", history.Body, StringComparison.Ordinal);

        // Ending it is recorded and shown.
        await session.GetAsync($"/alerts/silences?project_id={project}");
        var ended = await session.PostFormAsync("/alerts/silences/end", [new("project_id", project), new("silence_id", silence.Id), new("comment", "rotation done")]);
        Assert.Equal(HttpStatusCode.Found, ended.Status);
        var after = await session.GetAsync(ended.Location!);
        Assert.Contains("class=\"silence ended\"", after.Body, StringComparison.Ordinal);
        Assert.Contains($"by key <code>{OwnerKeyId}</code>: rotation done", after.Body, StringComparison.Ordinal);
        Assert.Contains($"silence_id={silence.Id}\">1</a>", after.Body, StringComparison.Ordinal);
        Assert.Equal(SilenceState.Ended, Assert.Single(await fixture.Client.GetGrain<IAlertSilenceGrain>(project).ListAsync(false)).State);
        var again = await session.PostFormAsync("/alerts/silences/end", [new("project_id", project), new("silence_id", silence.Id)]);
        Assert.Equal(HttpStatusCode.BadRequest, again.Status);
        Assert.Contains("already ended", again.Body, StringComparison.Ordinal);

        // A weekly window from the form, and a form the silo refuses with what to change.
        await session.GetAsync($"/alerts/silences?project_id={project}");
        var weekly = await session.PostFormAsync("/alerts/silences",
        [
            new("project_id", project), new("alert", "ApiKeyDeleted"), new("alert", "ApiKeyCreated"), new("schedule", "weekly"), new("day", "Saturday"), new("day", "Sunday"),
            new("at", "02:00"), new("duration_minutes", "240"), new("time_zone", "Europe/Paris"), new("reason", "weekend window"),
        ]);
        Assert.Equal(HttpStatusCode.Found, weekly.Status);
        var window = (await fixture.Client.GetGrain<IAlertSilenceGrain>(project).ListAsync(false)).Single(s => s.Weekly is not null).Weekly!;
        Assert.Equal((WeekDays.Saturday | WeekDays.Sunday, TimeSpan.FromHours(2), TimeSpan.FromHours(4), "Europe/Paris"), (window.Days, window.StartTime, window.Duration, window.TimeZone));
        var refused = await session.PostFormAsync("/alerts/silences", [new("project_id", project), new("alert", "ApiKeyDeleted"), new("schedule", "once"), new("reason", "no end")]);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("a silence without either would hold alerts forever", refused.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASilenceOfOneRuleIsCreatedFromTheRulesField()
    {
        var project = ConsoleHostFixture.NewProjectId();
        await fixture.Client.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).CreateRuleAsync(new AlertRuleDraft
        {
            Name = "key-creates", Query = "event.method_name == 'CreateAPIKey'", EvaluationWindow = TimeSpan.FromMinutes(5), Occurrences = 1, Severity = RuleSeverity.Warning,
        });
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);
        var page = await session.GetAsync($"/alerts/silences?project_id={project}");
        Assert.Contains("Rules (comma-separated)", page.Body, StringComparison.Ordinal);

        var refused = await session.PostFormAsync("/alerts/silences",
            [new("project_id", project), new("rules", "key-creates, bad rule!"), new("schedule", "once"), new("duration_minutes", "60"), new("reason", "r")]);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("is not valid", refused.Body, StringComparison.Ordinal);

        await session.GetAsync($"/alerts/silences?project_id={project}");
        var created = await session.PostFormAsync("/alerts/silences",
            [new("project_id", project), new("rules", " key-creates ,"), new("region", "fr-par"), new("schedule", "once"), new("duration_minutes", "60"), new("reason", "rotation")]);
        Assert.Equal(HttpStatusCode.Found, created.Status);
        var silence = Assert.Single(await fixture.Client.GetGrain<IAlertSilenceGrain>(project).ListAsync(false));
        Assert.Equal(["key-creates"], silence.Rules);
        Assert.Empty(silence.Alerts);
        Assert.Contains("<td>rule key-creates</td>", (await session.GetAsync(created.Location!)).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReadOnlyKeySeesSilencesAndTheHistoryButCannotChangeThem()
    {
        var project = ConsoleHostFixture.NewProjectId();
        await fixture.Client.GetGrain<IAlertSilenceGrain>(project).CreateAsync(new AlertSilenceRequest { Alerts = [AlertName.ApiKeyDeleted], Duration = TimeSpan.FromHours(1), Reason = "by the owner" });
        var (key, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, project);
        using var session = fixture.NewSession();
        await session.SignInAsync(key);

        var page = await session.GetAsync($"/alerts/silences?project_id={project}");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("by the owner", page.Body, StringComparison.Ordinal);
        Assert.Contains("can view silences but not create or end them", page.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("action=\"/alerts/silences/end\"", page.Body, StringComparison.Ordinal);
        var silenceId = (await fixture.Client.GetGrain<IAlertSilenceGrain>(project).ListAsync(false))[0].Id;
        Assert.Equal(HttpStatusCode.Forbidden, (await session.PostFormAsync("/alerts/silences/end", [new("project_id", project), new("silence_id", silenceId)])).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.PostFormAsync("/alerts/silences",
            [new("project_id", project), new("alert", "ApiKeyCreated"), new("duration_minutes", "5"), new("reason", "r")])).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.PostFormAsync("/alerts/history/take", [new("project_id", project), new("firing_id", new string('0', 32))])).Status);
        Assert.Equal(SilenceState.Active, (await fixture.Client.GetGrain<IAlertSilenceGrain>(project).ListAsync(false))[0].State);
    }

    [Fact]
    public async Task AFiringIsTakenAndClosedFromTheHistoryPageWithComments()
    {
        var project = ConsoleHostFixture.NewProjectId();
        await fixture.Client.GetGrain<INotificationContactsGrain>(project).AddAsync("secops@example.com", NotificationType.Security);
        await fixture.EnableAsync(project, "fr-par", AlertName.ApiKeyCreationUnauthorized);
        await fixture.SendAsync(project, Events.CreateApiKey(project, Events.Now().AddMinutes(-1), 403));
        var (manager, managerId) = await fixture.NewKeyAsync(ApiKeyRole.AlertsManager, project);
        using var session = fixture.NewSession();
        await session.SignInAsync(manager);

        var page = await session.GetAsync($"/alerts/history?project_id={project}");
        Assert.Contains("class=\"firing-status open\"", page.Body, StringComparison.Ordinal);
        var firingId = FiringRow().Match(page.Body).Groups[1].Value;
        Assert.Equal(32, firingId.Length);

        var taken = await session.PostFormAsync("/alerts/history/take", [new("project_id", project), new("firing_id", firingId), new("comment", "on it")]);
        Assert.Equal(HttpStatusCode.Found, taken.Status);
        var after = await session.GetAsync(taken.Location!.Split('#')[0]);
        Assert.Contains("class=\"firing-status taken\"", after.Body, StringComparison.Ordinal);
        Assert.Contains($"taken by key <code>{managerId}</code>", after.Body, StringComparison.Ordinal);
        Assert.Contains("<div class=\"comment\">on it</div>", after.Body, StringComparison.Ordinal);

        var noComment = await session.PostFormAsync("/alerts/history/close", [new("project_id", project), new("firing_id", firingId), new("comment", " ")]);
        Assert.Equal(HttpStatusCode.BadRequest, noComment.Status);
        Assert.Contains("Give a comment", noComment.Body, StringComparison.Ordinal);

        await session.GetAsync($"/alerts/history?project_id={project}");
        var closed = await session.PostFormAsync("/alerts/history/close", [new("project_id", project), new("firing_id", firingId), new("comment", "an expected test")]);
        Assert.Equal(HttpStatusCode.Found, closed.Status);
        var final = await session.GetAsync(closed.Location!.Split('#')[0]);
        Assert.Contains("class=\"firing-status closed\"", final.Body, StringComparison.Ordinal);
        Assert.Contains("<div class=\"comment\">an expected test</div>", final.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("action=\"/alerts/history/take\"", final.Body, StringComparison.Ordinal);

        var fired = Assert.Single(await fixture.Client.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project }));
        Assert.Equal([(FiringAction.Taken, managerId, "on it"), (FiringAction.Closed, managerId, "an expected test")], fired.Acknowledgements.Select(static k => (k.Action, k.KeyId, k.Comment!)));
    }

    [GeneratedRegex("<tr id=\"firing-([0-9a-f]{32})\">")]
    private static partial Regex FiringRow();
}
