using AuditOrleans.Grains.Notifications;
using AuditOrleans.Testing;
using MimeKit;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>
/// What the lifecycle of an alert puts in the mailbox (docs/alerts.md, Episodes; Backfill and
/// late events), through the real outbox into the pickup directory.
/// </summary>
[Collection(PickupCollection.Name)]
public sealed class LifecycleEmailTests(AuditClusterFixture fixture)
{
    private string Outbox => fixture.Directory.Combine("outbox");

    [Fact]
    public async Task ALateEventStillAlertsAndItsEmailSaysItCameLateAndWhenItHappened()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyCreated);
        var happened = fixture.Clock.GetUtcNow().AddHours(-3);

        await scenario.SendAsync(scenario.ApiKey(happened, "CreateAPIKey", 200));

        var firing = await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Delivered);
        Assert.True(firing.IsLate);
        Assert.False(firing.IsBackfill);
        Assert.Equal(happened, firing.EventTime);
        var message = await MimeMessage.LoadAsync(Path.Combine(Outbox, MailSender.PickupFileName(NotificationStore.MessageId(firing.Id, security))));
        Assert.Equal($"[AuditOrleans] Medium: ApiKeyCreated in {scenario.ProjectId}/fr-par (late event)", message.Subject);
        var when = AlertEmailComposer.FormatTime(happened);
        Assert.Contains($"LATE EVENT: the event happened at {when} and reached AuditOrleans at {AlertEmailComposer.FormatTime(firing.TriggeredAt)}, 3 h later.", message.TextBody);
        Assert.Contains($"Event time: {when} (late: received", message.TextBody);
        Assert.Contains("LATE EVENT", message.HtmlBody);
    }

    [Fact]
    public async Task AnEventWithinTheLatenessThresholdIsNotLate()
    {
        var scenario = new Scenario(fixture);
        await scenario.AddContactAsync(SmtpClusterFixture.NewAddress());
        await scenario.EnableAsync(AlertName.ApiKeyDeleted);

        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-14), "DeleteAPIKey", 200));

        var firing = Assert.Single(await scenario.HistoryAsync());
        Assert.False(firing.IsLate);
    }

    [Fact]
    public async Task AHistoricalSendIsRecordedAsBackfillAndSendsNothing()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyCreated, AlertName.HttpForbiddenErrorRateHigh);
        var lastYear = fixture.Clock.GetUtcNow().AddDays(-365);
        AuditEvent[] export =
        [
            scenario.ApiKey(lastYear, "CreateAPIKey", 200),
            .. Enumerable.Range(0, 21).Select(i => scenario.Forbidden(lastYear.AddSeconds(i))),
        ];

        var result = await fixture.Grains.GetGrain<IIngestGrain>(0).IngestAsync(scenario.ProjectId, export, IngestMode.Historical);

        Assert.Equal(22, result.Accepted);
        var history = await scenario.HistoryAsync();
        Assert.Equal([AlertName.ApiKeyCreated, AlertName.HttpForbiddenErrorRateHigh], history.Select(static f => f.Alert).Order());
        Assert.All(history, static f => Assert.True(f.IsBackfill));
        Assert.All(history, static f => Assert.False(f.IsLate));
        Assert.All(history, static f => Assert.Empty(f.Deliveries));

        // The events are in the log and its chain as any others.
        var report = await fixture.Grains.GetGrain<IAuditLogGrain>(0).VerifyAsync(scenario.ProjectId, "fr-par");
        Assert.True(report.IsValid, report.Reason);
        Assert.Equal(22, report.HeadSequence);

        // The backfill episode is over by the clock, also as backfill: nothing goes out.
        fixture.Clock.Advance(TimeSpan.FromMinutes(6));
        await fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(scenario.ProjectId, "fr-par")).CheckEpisodeAsync();
        var resolved = Assert.Single(await scenario.HistoryAsync(), static f => f.Kind == AlertKind.Resolved);
        Assert.True(resolved.IsBackfill);
        Assert.Empty(resolved.Deliveries);

        await Scenario.CompleteRoundAsync(fixture);
        Assert.DoesNotContain(Directory.GetFiles(Outbox), f => history.Append(resolved).Any(h => f.Contains(h.Id, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AResolvedEpisodeIsEmailedAsResolvedInTheFiringsThread()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.HttpForbiddenErrorRateHigh);
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-1);
        await scenario.SendAsync([.. Enumerable.Range(0, 24).Select(i => scenario.Forbidden(t0.AddSeconds(i)))]);

        fixture.Clock.Advance(TimeSpan.FromMinutes(6));
        await fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(scenario.ProjectId, "fr-par")).CheckEpisodeAsync();
        await Scenario.CompleteRoundAsync(fixture);

        var history = await scenario.HistoryAsync();
        var opening = Assert.Single(history, static f => f.Kind == AlertKind.Firing);
        var resolved = Assert.Single(history, static f => f.Kind == AlertKind.Resolved);
        var message = await MimeMessage.LoadAsync(Path.Combine(Outbox, MailSender.PickupFileName(NotificationStore.MessageId(resolved.Id, security))));
        Assert.Equal($"[AuditOrleans] Resolved: HttpForbiddenErrorRateHigh in {scenario.ProjectId}/fr-par", message.Subject);
        Assert.Equal(NotificationStore.MessageId(opening.Id, security), message.InReplyTo);
        Assert.Contains("is over: the rate of HTTP 403 responses fell back to 20 or fewer in 5 minutes", message.TextBody);
        Assert.Contains("HTTP 403 responses in the whole episode: 24", message.TextBody);
        Assert.Contains("Duration: 23 s", message.TextBody);
    }
}
