using AuditOrleans.Testing;
using Xunit;
using AuditOrleans.Grains.Notifications;

namespace AuditOrleans.Notifications.Tests;

/// <summary>Durable delivery: retries with back-off, permanent refusals, attempts running out.</summary>
[Collection(SmtpCollection.Name)]
public sealed class DeliveryTests(SmtpClusterFixture fixture)
{
    [Fact]
    public async Task AnAlertFiredWhileTheServerIsDownIsDeliveredOnceWhenItIsBack()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyCreated);

        await fixture.Smtp.StopAsync();
        try
        {
            await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "CreateAPIKey", 200));
            var retrying = await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Retrying);
            var pending = Assert.Single(retrying.Deliveries);
            Assert.Equal(1, pending.Attempts);
            Assert.Contains($"Cannot connect to the SMTP server 127.0.0.1:{fixture.Smtp.Port}", pending.LastError);
            Assert.Equal(fixture.Clock.GetUtcNow() + SmtpClusterFixture.InitialRetryDelay, pending.NextAttemptAt);
            Assert.Null(pending.DeliveredAt);
        }
        finally
        {
            fixture.Smtp.Start();
        }

        // Nobody wakes the outbox: its timer runs the retry when the clock reaches the due time.
        fixture.Clock.Advance(SmtpClusterFixture.InitialRetryDelay);
        var mail = Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security));
        var delivered = await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Delivered);
        var delivery = Assert.Single(delivered.Deliveries);
        Assert.Equal(2, delivery.Attempts);
        Assert.Null(delivery.LastError);
        Assert.Equal(fixture.Clock.GetUtcNow(), delivery.DeliveredAt);
        Assert.Equal(Grains.Notifications.NotificationStore.MessageId(delivered.Id, security), mail.Message.MessageId);

        await Scenario.CompleteRoundAsync(fixture);
        Assert.Single(fixture.Smtp.MessagesTo(security));
    }

    [Fact]
    public async Task TheConnectionIsKeptForTheNextAlertAndANewOneOpensAtOnceWhenTheServerDroppedIt()
    {
        // Three projects, so that no grouping holds a match back: only the connection is shared.
        var scenarios = Enumerable.Range(0, 3).Select(_ => new Scenario(fixture)).ToList();
        var contacts = new List<string>();
        foreach (var scenario in scenarios)
        {
            contacts.Add(SmtpClusterFixture.NewAddress());
            await scenario.AddContactAsync(contacts[^1]);
            await scenario.EnableAsync(AlertName.ApiKeyDeleted);
        }

        async Task<int> AlertAsync(int i)
        {
            await scenarios[i].SendAsync(scenarios[i].ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "DeleteAPIKey", 200));
            await fixture.Smtp.WaitForMessagesAsync(contacts[i]);
            var firing = await scenarios[i].WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Delivered);
            return firing.Deliveries.Single().Attempts;
        }

        await AlertAsync(0);
        var connections = fixture.Smtp.Connections;

        // The next alert skips connecting, the greeting and the login.
        Assert.Equal(1, await AlertAsync(1));
        Assert.Equal(connections, fixture.Smtp.Connections);

        // The server closed the idle connection: the alert goes at once over a new one, not after a retry delay.
        fixture.Smtp.DropConnections();
        Assert.Equal(1, await AlertAsync(2));
        Assert.Equal(connections + 1, fixture.Smtp.Connections);
        Assert.All(contacts, c => Assert.Single(fixture.Smtp.MessagesTo(c)));
    }

    [Fact]
    public async Task APermanentlyRefusedRecipientIsRecordedAsFailedAndNotRetriedWhileOthersGetTheirEmail()
    {
        var scenario = new Scenario(fixture);
        // Named so that the refused one goes first: the next message then reuses the connection after the refusal.
        var refused = SmtpClusterFixture.NewAddress("a-refused");
        var accepted = SmtpClusterFixture.NewAddress("b-accepted");
        fixture.Smtp.RefuseRecipient(refused);
        await scenario.AddContactAsync(refused);
        await scenario.AddContactAsync(accepted);
        await scenario.EnableAsync(AlertName.ApiKeyDeleted);

        var connections = fixture.Smtp.Connections;

        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "DeleteAPIKey", 200));
        await fixture.Smtp.WaitForMessagesAsync(accepted);

        // Both messages went over one connection: the one kept from an earlier round, or a new one.
        Assert.InRange(fixture.Smtp.Connections - connections, 0, 1);
        var firing = await scenario.WaitForFiringAsync(static f => f.Deliveries.All(static d => d.State is DeliveryState.Delivered or DeliveryState.Failed));
        var failed = Assert.Single(firing.Deliveries, d => d.Recipient == refused);
        Assert.Equal((DeliveryState.Failed, 1), (failed.State, failed.Attempts));
        Assert.Contains("550", failed.LastError);
        Assert.Contains(refused, failed.LastError);
        Assert.Null(failed.NextAttemptAt);
        Assert.Equal(DeliveryState.Delivered, Assert.Single(firing.Deliveries, d => d.Recipient == accepted).State);

        // Much later, and woken again: still failed after one attempt, nothing sent.
        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        await Scenario.CompleteRoundAsync(fixture);
        var later = Assert.Single(Assert.Single(await scenario.HistoryAsync()).Deliveries, d => d.Recipient == refused);
        Assert.Equal((DeliveryState.Failed, 1), (later.State, later.Attempts));
        Assert.Empty(fixture.Smtp.MessagesTo(refused));
        Assert.Single(fixture.Smtp.MessagesTo(accepted));
    }

    [Fact]
    public async Task ATemporarilyRefusedRecipientIsRetriedWithDoublingDelaysThenFailsAfterMaxAttempts()
    {
        var scenario = new Scenario(fixture);
        var deferred = SmtpClusterFixture.NewAddress("deferred");
        fixture.Smtp.DeferRecipient(deferred);
        await scenario.AddContactAsync(deferred);
        await scenario.EnableAsync(AlertName.ApiKeyCreationUnauthorized);
        var outbox = fixture.Grains.GetGrain<INotificationGrain>(0);

        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "CreateAPIKey", 403));
        var delay = SmtpClusterFixture.InitialRetryDelay;
        for (var attempt = 1; attempt < SmtpClusterFixture.MaxAttempts; attempt++)
        {
            var expected = attempt;
            var firing = await scenario.WaitForFiringAsync(f => f.Deliveries.Single() is { State: DeliveryState.Retrying } d && d.Attempts == expected);
            var retrying = Assert.Single(firing.Deliveries);
            Assert.Contains("451", retrying.LastError);
            Assert.Equal(fixture.Clock.GetUtcNow() + delay, retrying.NextAttemptAt);

            fixture.Clock.Advance(delay);
            await outbox.WakeAsync();
            delay += delay;
        }

        var failed = Assert.Single((await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Failed)).Deliveries);
        Assert.Equal(SmtpClusterFixture.MaxAttempts, failed.Attempts);
        Assert.Contains($"Gave up after {SmtpClusterFixture.MaxAttempts} attempts", failed.LastError);
        Assert.Contains("451", failed.LastError);

        fixture.Clock.Advance(TimeSpan.FromMinutes(10));
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Equal(SmtpClusterFixture.MaxAttempts, Assert.Single(Assert.Single(await scenario.HistoryAsync()).Deliveries).Attempts);
        Assert.Empty(fixture.Smtp.MessagesTo(deferred));
        fixture.Smtp.AcceptRecipient(deferred);
    }
}
