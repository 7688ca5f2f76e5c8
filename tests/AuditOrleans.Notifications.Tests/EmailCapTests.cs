using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>The email cap per contact (docs/alerts.md, The email cap): beyond it, emails wait and merge into one digest.</summary>
[Collection(CapCollection.Name)]
public sealed class EmailCapTests(CapCollection.Fixture fixture)
{
    [Fact]
    public async Task BeyondTheCapEmailsAndDigestsMergeIntoOneDigestSentWhenTheHourAllows()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyCreated, AlertName.ApiKeyCreationUnauthorized, AlertName.ApiKeyDeleted, AlertName.ApiKeyDeletionUnauthorized);
        var t0 = fixture.Clock.GetUtcNow();

        // Four alerts, four groups: four emails due at once, but the contact may receive two an hour.
        await scenario.SendAsync(
            scenario.ApiKey(t0, "CreateAPIKey", 200, principal: "p-created"),
            scenario.ApiKey(t0, "CreateAPIKey", 403, principal: "p-refused-create"),
            scenario.ApiKey(t0, "DeleteAPIKey", 200, principal: "p-deleted"),
            scenario.ApiKey(t0, "DeleteAPIKey", 403, principal: "p-refused-delete"));
        Assert.Equal(CapCollection.Cap, (await fixture.Smtp.WaitForMessagesAsync(security, CapCollection.Cap)).Count);
        var history = await GroupingTests.WaitAsync(scenario, static h => h.Count == 4 && h.Count(static f => f.Deliveries.Single().DigestId is not null) == 2);
        var merged = Assert.Single(history.Select(static f => f.Deliveries.Single().DigestId).OfType<string>().Distinct());
        Assert.All(history.Where(f => f.Deliveries.Single().DigestId == merged), f => Assert.Equal(t0 + TimeSpan.FromHours(1), f.Deliveries.Single().NextAttemptAt));

        // Three more matches of one alert: their group digest, due five minutes later, merges too.
        await scenario.SendAsync([.. Enumerable.Range(0, 3).Select(i => scenario.ApiKey(t0, "CreateAPIKey", 200, principal: $"p-more-{i}"))]);
        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        await Scenario.CompleteRoundAsync(fixture);
        history = await GroupingTests.WaitAsync(scenario, h => h.Count == 7 && h.Count(f => f.Deliveries.Single().DigestId == merged) == 5);
        Assert.Equal(CapCollection.Cap, fixture.Smtp.MessagesTo(security).Count);

        // When the first emails leave the hour, the merged digest goes out with the five.
        fixture.Clock.Advance(TimeSpan.FromMinutes(55));
        var mails = await fixture.Smtp.WaitForMessagesAsync(security, CapCollection.Cap + 1);
        var digest = mails[CapCollection.Cap].Message;
        Assert.EndsWith($": 5 alerts in {scenario.ProjectId} (digest, email limit reached)", digest.Subject, StringComparison.Ordinal);
        foreach (var principal in new[] { "p-more-0", "p-more-1", "p-more-2" })
        {
            Assert.Contains($"Principal: {principal}", digest.TextBody);
        }

        Assert.Contains("Alerts:MaxEmailsPerContactPerHour", digest.TextBody);
        history = await GroupingTests.WaitAsync(scenario, static h => h.All(static f => f.Deliveries.Single().State == DeliveryState.Delivered));
        Assert.Equal(7, history.Count);
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Equal(CapCollection.Cap + 1, fixture.Smtp.MessagesTo(security).Count);
    }

    [Fact]
    public async Task ForbiddenRateEmailsAndTestsAreNeverHeldBack()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyCreated, AlertName.ApiKeyDeleted, AlertName.HttpForbiddenErrorRateHigh);
        var now = fixture.Clock.GetUtcNow();
        await scenario.SendAsync(scenario.ApiKey(now, "CreateAPIKey", 200), scenario.ApiKey(now, "DeleteAPIKey", 200));
        Assert.Equal(CapCollection.Cap, (await fixture.Smtp.WaitForMessagesAsync(security, CapCollection.Cap)).Count);

        // The cap is reached: the forbidden-rate alert and test notifications still go at once.
        await scenario.SendAsync([.. Enumerable.Range(0, 21).Select(i => scenario.Forbidden(now.AddSeconds(-i)))]);
        var outbox = fixture.Grains.GetGrain<INotificationGrain>(0);
        await outbox.SendTestAsync(scenario.ProjectId, scenario.Region, AlertName.ApiKeyCreated);
        var mails = await fixture.Smtp.WaitForMessagesAsync(security, CapCollection.Cap + 2);
        Assert.Contains(mails, static m => m.Message.Subject!.Contains(nameof(AlertName.HttpForbiddenErrorRateHigh), StringComparison.Ordinal));
        Assert.Contains(mails, static m => m.Message.Subject!.StartsWith("[TEST] ", StringComparison.Ordinal));
    }
}
