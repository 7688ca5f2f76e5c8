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
}
