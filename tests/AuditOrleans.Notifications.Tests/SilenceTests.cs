using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>Silences (docs/alerts.md, Silences): a held firing is recorded and emailed to nobody; mail resumes when the silence ends, visibly.</summary>
[Collection(SmtpCollection.Name)]
public sealed class SilenceTests(SmtpClusterFixture fixture)
{
    /// <summary>The id of the fixture's Owner key, which the fixture's client presents.</summary>
    private const string OwnerKeyId = "0f1e2d3c4b5a6978";

    [Fact]
    public async Task ASilencedFiringSendsNothingIsInTheHistoryAndMailResumesWhenTheSilenceExpires()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyCreated, AlertName.ApiKeyDeleted);
        var silences = fixture.Grains.GetGrain<IAlertSilenceGrain>(scenario.ProjectId);
        var now = fixture.Clock.GetUtcNow();

        var silence = await silences.CreateAsync(new AlertSilenceRequest
        {
            Alerts = [AlertName.ApiKeyCreated],
            Region = "FR-PAR",
            EndsAt = now + TimeSpan.FromHours(1),
            Reason = "key rotation CHG-1234",
        });
        Assert.Equal((SilenceState.Active, "fr-par", OwnerKeyId, now, now + TimeSpan.FromHours(1)), (silence.State, silence.Region, silence.CreatedBy, silence.StartsAt, silence.NextChangeAt!.Value));

        // Held: recorded with the silence, nobody emailed. Another alert is not held.
        await scenario.SendAsync(scenario.ApiKey(now, "CreateAPIKey", 200, principal: "rotation-bot"));
        await scenario.SendAsync(scenario.ApiKey(now, "DeleteAPIKey", 200));
        Assert.Contains(nameof(AlertName.ApiKeyDeleted), Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security)).Message.Subject, StringComparison.Ordinal);
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Single(fixture.Smtp.MessagesTo(security));
        var held = Assert.Single(await GroupingTests.HistoryAsync(scenario), static f => f.Alert == AlertName.ApiKeyCreated);
        Assert.Equal((silence.Id, FiringStatus.Silenced), (held.SilenceId, held.Status));
        var silenced = Assert.Single(held.Deliveries);
        Assert.Equal((security, DeliveryState.Silenced, 0, (DateTimeOffset?)null), (silenced.Recipient, silenced.State, silenced.Attempts, silenced.NextAttemptAt));
        Assert.Equal([held.Id], (await fixture.Grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = scenario.ProjectId, SilenceId = silence.Id })).Select(static f => f.Id));
        var listed = Assert.Single(await silences.ListAsync(includeEnded: false));
        Assert.Equal((1, held.TriggeredAt), (listed.HeldFirings, listed.LastHeldAt!.Value));

        // The silence runs out: it stays listed as expired, and the next match is mailed.
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        var expired = Assert.Single(await silences.ListAsync(includeEnded: false));
        Assert.Equal((SilenceState.Expired, (DateTimeOffset?)null, 1), (expired.State, expired.NextChangeAt, expired.HeldFirings));
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow(), "CreateAPIKey", 200, principal: "someone-else"));
        var mails = await fixture.Smtp.WaitForMessagesAsync(security, 2);
        Assert.Contains(nameof(AlertName.ApiKeyCreated), mails[1].Message.Subject, StringComparison.Ordinal);
        Assert.Contains("someone-else", mails[1].Message.TextBody);
        Assert.Null(Assert.Single(await GroupingTests.HistoryAsync(scenario), static f => f.Facts.PrincipalId == "someone-else").SilenceId);

        // A week later it has left the default list, not the full one.
        fixture.Clock.Advance(TimeSpan.FromDays(8));
        Assert.Empty(await silences.ListAsync(includeEnded: false));
        Assert.Equal(silence.Id, Assert.Single(await silences.ListAsync(includeEnded: true)).Id);
    }

    [Fact]
    public async Task EndingASilenceEarlyIsRecordedAndMailResumesAtOnce()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyDeletionUnauthorized);
        var silences = fixture.Grains.GetGrain<IAlertSilenceGrain>(scenario.ProjectId);
        var silence = await silences.CreateAsync(new AlertSilenceRequest
        {
            Alerts = [AlertName.ApiKeyDeletionUnauthorized],
            EndsAt = fixture.Clock.GetUtcNow() + TimeSpan.FromDays(1),
            Reason = "pen test",
        });
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow(), "DeleteAPIKey", 403));

        fixture.Clock.Advance(TimeSpan.FromMinutes(10));
        var ended = await silences.EndAsync(silence.Id.ToUpperInvariant(), "pen test over");
        Assert.NotNull(ended);
        Assert.Equal((SilenceState.Ended, fixture.Clock.GetUtcNow(), OwnerKeyId, "pen test over", 1),
            (ended.State, ended.EndedAt!.Value, ended.EndedBy, ended.EndComment, ended.HeldFirings));
        Assert.Contains("already ended", (await Assert.ThrowsAsync<InvalidOperationException>(() => silences.EndAsync(silence.Id, "again"))).Message);
        Assert.Null(await silences.EndAsync(new string('0', 32), null));

        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow(), "DeleteAPIKey", 403, principal: "after"));
        Assert.Contains("after", Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security)).Message.TextBody);
        var history = await GroupingTests.HistoryAsync(scenario);
        Assert.Equal([FiringStatus.Open, FiringStatus.Silenced], history.Select(static f => f.Status));
    }

    [Fact]
    public async Task APrincipalOrSourceIpSilenceHoldsOnlyThatSource()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyCreationUnauthorized, AlertName.HttpForbiddenErrorRateHigh);
        var silences = fixture.Grains.GetGrain<IAlertSilenceGrain>(scenario.ProjectId);
        var now = fixture.Clock.GetUtcNow();
        await silences.CreateAsync(new AlertSilenceRequest
        {
            Alerts = [AlertName.ApiKeyCreationUnauthorized, AlertName.HttpForbiddenErrorRateHigh],
            SourceIp = "2001:DB8:0::7",
            EndsAt = now + TimeSpan.FromHours(1),
            Reason = "our scanner",
        });

        // The scanner is held; the same alert from elsewhere is not.
        // (401, so that they do not count among the 403s below.)
        await scenario.SendAsync(scenario.ApiKey(now, "CreateAPIKey", 401, ip: "2001:db8::7"));
        await scenario.SendAsync(scenario.ApiKey(now, "CreateAPIKey", 401, ip: "198.51.100.99", principal: "stranger"));
        Assert.Contains("stranger", Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security)).Message.TextBody);

        // A 403 burst entirely from the scanner is held; one with another source among the top is not.
        await scenario.SendAsync([.. Enumerable.Range(0, 21).Select(i => scenario.Forbidden(now.AddSeconds(-100 + i), ip: "2001:db8::7"))]);
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Single(fixture.Smtp.MessagesTo(security));
        var history = await GroupingTests.HistoryAsync(scenario);
        Assert.Equal(3, history.Count);
        Assert.Equal(2, history.Count(static f => f.SilenceId is not null));
    }

    [Fact]
    public async Task AWeeklyWindowHoldsOnlyInsideItsWindowsInItsTimeZone()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyDeleted);
        var now = fixture.Clock.GetUtcNow();
        var paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        var local = TimeZoneInfo.ConvertTime(now, paris).AddMinutes(-1);

        // From one minute ago, local time in Paris, for ten minutes.
        var silence = await fixture.Grains.GetGrain<IAlertSilenceGrain>(scenario.ProjectId).CreateAsync(new AlertSilenceRequest
        {
            Alerts = [AlertName.ApiKeyDeleted],
            Weekly = new WeeklyWindow
            {
                Days = local.DayOfWeek.ToWeekDays(),
                StartTime = new TimeSpan(local.Hour, local.Minute, 0),
                Duration = TimeSpan.FromMinutes(10),
                TimeZone = "Europe/Paris",
            },
            Reason = "weekly deploy",
        });
        Assert.Equal(SilenceState.Active, silence.State);
        Assert.Null(silence.EndsAt);

        await scenario.SendAsync(scenario.ApiKey(now, "DeleteAPIKey", 200, principal: "in-window"));
        fixture.Clock.Advance(silence.NextChangeAt!.Value - now);
        Assert.Equal(SilenceState.Waiting, (await fixture.Grains.GetGrain<IAlertSilenceGrain>(scenario.ProjectId).ListAsync(false))[0].State);
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow(), "DeleteAPIKey", 200, principal: "after-window"));
        var mail = Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security));
        Assert.Contains("after-window", mail.Message.TextBody);
        Assert.Equal(silence.Id, Assert.Single(await GroupingTests.HistoryAsync(scenario), static f => f.Facts.PrincipalId == "in-window").SilenceId);
    }

    [Fact]
    public async Task ASilenceOfOneRuleHoldsOnlyThatRulesFirings()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        var config = fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(scenario.ProjectId, scenario.Region));
        foreach (var (name, method) in new[] { ("key-creates", "CreateAPIKey"), ("key-deletes", "DeleteAPIKey") })
        {
            await config.CreateRuleAsync(new AlertRuleDraft
            {
                Name = name,
                Query = $"event.method_name == '{method}'",
                EvaluationWindow = TimeSpan.FromMinutes(5),
                Occurrences = 1,
                Severity = RuleSeverity.Critical,
            });
        }

        var now = fixture.Clock.GetUtcNow();
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Grains.GetGrain<IAlertSilenceGrain>(scenario.ProjectId).CreateAsync(new AlertSilenceRequest
        {
            Alerts = [], Rules = ["key-create"], EndsAt = now + TimeSpan.FromHours(1), Reason = "typo",
        }));
        Assert.Contains("'key-create' is neither an alert nor a custom rule", unknown.Message);
        var silence = await fixture.Grains.GetGrain<IAlertSilenceGrain>(scenario.ProjectId).CreateAsync(new AlertSilenceRequest
        {
            Alerts = [],
            Rules = [" KEY-Creates ", "key-creates"],
            EndsAt = now + TimeSpan.FromHours(1),
            Reason = "key rotation CHG-77",
        });
        Assert.Equal(["KEY-Creates"], silence.Rules);
        Assert.Empty(silence.Alerts);

        // Both rules fire: the silenced one is recorded with the silence, the other is emailed.
        await scenario.SendAsync(scenario.ApiKey(now, "CreateAPIKey", 200, principal: "rotation-bot"));
        await scenario.SendAsync(scenario.ApiKey(now, "DeleteAPIKey", 200, principal: "someone"));
        var mail = Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security));
        Assert.Contains("someone", mail.Message.TextBody);
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Single(fixture.Smtp.MessagesTo(security));
        var firings = (await GroupingTests.HistoryAsync(scenario)).Where(static f => f.Alert == AlertName.CustomRule && f.Kind == AlertKind.Firing).ToList();
        Assert.Equal(2, firings.Count);
        var held = Assert.Single(firings, static f => f.Facts.Rule!.Name == "key-creates");
        var delivered = Assert.Single(firings, static f => f.Facts.Rule!.Name == "key-deletes");
        Assert.Equal((silence.Id, FiringStatus.Silenced), (held.SilenceId, held.Status));
        Assert.Null(delivered.SilenceId);
        Assert.Equal(DeliveryState.Silenced, Assert.Single(held.Deliveries).State);
        var listed = Assert.Single(await fixture.Grains.GetGrain<IAlertSilenceGrain>(scenario.ProjectId).ListAsync(includeEnded: false));
        Assert.Equal(["KEY-Creates"], listed.Rules);
        Assert.Equal(1, listed.HeldFirings);
    }

    [Fact]
    public async Task ASilenceIsRefusedWithWhatToChange()
    {
        var silences = fixture.Grains.GetGrain<IAlertSilenceGrain>(AuditClusterFixture.NewProjectId("s"));
        var now = fixture.Clock.GetUtcNow();
        var valid = new AlertSilenceRequest { Alerts = [AlertName.ApiKeyCreated], EndsAt = now + TimeSpan.FromHours(1), Reason = "r" };
        async Task<string> RefusedAsync(AlertSilenceRequest request) => (await Assert.ThrowsAsync<ArgumentException>(() => silences.CreateAsync(request))).Message;

        Assert.Contains("weekly schedule", await RefusedAsync(valid with { EndsAt = null }));
        Assert.Contains("already past", await RefusedAsync(valid with { StartsAt = now - TimeSpan.FromHours(2), EndsAt = now - TimeSpan.FromHours(1) }));
        Assert.Contains("Give a reason", await RefusedAsync(valid with { Reason = " " }));
        Assert.Contains("not an IP address", await RefusedAsync(valid with { SourceIp = "10.0.0" }));
        Assert.Contains("Name the alerts", await RefusedAsync(valid with { Alerts = [] }));
        Assert.Contains("Name the alerts", await RefusedAsync(valid with { Alerts = [], Rules = [] }));
        Assert.Contains("rule name 'bad rule!' is not valid", await RefusedAsync(valid with { Rules = ["bad rule!"] }));
        Assert.Contains("is an alert, not a rule", await RefusedAsync(valid with { Rules = ["apikeycreated"] }));
        Assert.Contains("at most 50 rules", await RefusedAsync(valid with { Rules = [.. Enumerable.Range(0, 51).Select(static i => $"r{i}")] }));
        Assert.Contains("not a time zone", await RefusedAsync(valid with { EndsAt = null, Weekly = new WeeklyWindow { Days = WeekDays.Sunday, StartTime = TimeSpan.FromHours(2), Duration = TimeSpan.FromHours(1), TimeZone = "Mars/Olympus" } }));
        Assert.Contains("at most 7 days", await RefusedAsync(valid with { Weekly = new WeeklyWindow { Days = WeekDays.Sunday, StartTime = TimeSpan.Zero, Duration = TimeSpan.FromDays(8), TimeZone = "UTC" } }));
        Assert.Contains("not a silence id", (await Assert.ThrowsAsync<ArgumentException>(() => silences.EndAsync("nope", null))).Message);
    }
}
