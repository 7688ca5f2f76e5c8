using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Xunit;
using AuditOrleans.Grains.Notifications;

namespace AuditOrleans.Notifications.Tests;

/// <summary>Deliveries pending when the silo stops go out after it starts again, once.</summary>
[Collection(RestartCollection.Name)]
public sealed class RestartTests(RestartCollection.Fixture fixture)
{
    [Fact]
    public async Task ADeliveryPendingAcrossASiloRestartIsSentExactlyOnceWithoutANewFiring()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyDeletionUnauthorized);

        await fixture.Smtp.StopAsync();
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "DeleteAPIKey", 403));
        var pending = Assert.Single((await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Retrying)).Deliveries);
        Assert.Equal(1, pending.Attempts);

        // The silo goes away with the delivery pending; while it is down the retry becomes due
        // and the mail server comes back. Nothing but the restarted silo itself wakes the outbox.
        await fixture.RestartAsync(() =>
        {
            fixture.Clock.Advance(SmtpClusterFixture.InitialRetryDelay);
            fixture.Smtp.Start();
            return Task.CompletedTask;
        });

        var mail = Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security));
        var firing = await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Delivered);
        Assert.Equal(2, Assert.Single(firing.Deliveries).Attempts);
        Assert.Equal(NotificationStore.MessageId(firing.Id, security), mail.Message.MessageId);
        Assert.Equal(RestartCollection.Fixture.User, mail.User);

        await Scenario.CompleteRoundAsync(fixture);
        Assert.Single(fixture.Smtp.MessagesTo(security));
    }

    [Fact]
    public async Task AFloodsDigestPendingAcrossASiloRestartIsSentOnceAndGroupingGoesOnFromTheDatabase()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyCreated);
        var writerKey = await fixture.CreateApiKeyAsync(ApiKeyRole.EventWriter, scenario.ProjectId);
        var t0 = fixture.Clock.GetUtcNow();
        await using (var writer = await fixture.CreateClientAsync(writerKey))
        {
            var events = Enumerable.Range(0, 200).Select(i => scenario.ApiKey(t0.AddSeconds(-i), "CreateAPIKey", 200, principal: $"p-{i}")).ToList();
            foreach (var batch in events.Chunk(100))
            {
                Assert.Equal(100, (await writer.Grains.GetGrain<IIngestGrain>(0).IngestAsync(scenario.ProjectId, batch)).Accepted);
            }
        }

        Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security));

        // The silo stops with the digest pending; it falls due while the silo is down.
        await fixture.RestartAsync(() =>
        {
            fixture.Clock.Advance(TimeSpan.FromMinutes(5));
            return Task.CompletedTask;
        });

        var mails = await fixture.Smtp.WaitForMessagesAsync(security, 2);
        Assert.EndsWith(": 199 more matches (digest)", mails[1].Message.Subject, StringComparison.Ordinal);
        await GroupingTests.WaitAsync(scenario, static h => h.Count == 200 && h.All(static f => f.Deliveries.Single().State == DeliveryState.Delivered));

        // The restarted silo knows the group had a digest just now: the next match waits for the next one.
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow(), "CreateAPIKey", 200, principal: "after-restart"));
        var next = Assert.Single(await GroupingTests.HistoryAsync(scenario), static f => f.Facts.PrincipalId == "after-restart");
        Assert.Equal(t0 + TimeSpan.FromMinutes(10), Assert.Single(next.Deliveries).NextAttemptAt);
        Assert.NotNull(next.Deliveries[0].DigestId);
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Equal(2, fixture.Smtp.MessagesTo(security).Count);
    }

    [Fact]
    public async Task SilencesAndTakenFiringsSurviveASiloRestart()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyDeleted, AlertName.ApiKeyCreated);
        var now = fixture.Clock.GetUtcNow();
        var silence = await fixture.Grains.GetGrain<IAlertSilenceGrain>(scenario.ProjectId).CreateAsync(
            new AlertSilenceRequest { Alerts = [AlertName.ApiKeyDeleted], Duration = TimeSpan.FromHours(2), Reason = "maintenance" });
        await scenario.SendAsync(scenario.ApiKey(now, "CreateAPIKey", 200));
        var firing = Assert.Single(await GroupingTests.HistoryAsync(scenario));
        await fixture.Grains.GetGrain<IAlertAcknowledgementGrain>(scenario.ProjectId).TakeAsync(firing.Id, "on it");

        await fixture.RestartAsync();

        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow(), "DeleteAPIKey", 200));
        var history = await GroupingTests.HistoryAsync(scenario);
        Assert.Equal(silence.Id, Assert.Single(history, static f => f.Alert == AlertName.ApiKeyDeleted).SilenceId);
        var taken = Assert.Single(history, f => f.Id == firing.Id);
        Assert.Equal((FiringStatus.Taken, "on it"), (taken.Status, Assert.Single(taken.Acknowledgements).Comment));
        var listed = Assert.Single(await fixture.Grains.GetGrain<IAlertSilenceGrain>(scenario.ProjectId).ListAsync(false));
        Assert.Equal((SilenceState.Active, 1), (listed.State, listed.HeldFirings));
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Single(fixture.Smtp.MessagesTo(security));
    }
}
