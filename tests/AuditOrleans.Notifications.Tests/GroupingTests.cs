using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>
/// Grouping of the single-event alerts (docs/alerts.md, Grouping): the first match is emailed
/// at once, the next ones within the group interval go out as one digest, and every match stays
/// in the history.
/// </summary>
[Collection(SmtpCollection.Name)]
public sealed class GroupingTests(SmtpClusterFixture fixture)
{
    private static readonly TimeSpan GroupInterval = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task TwoHundredMatchesFromOneEventWriterKeyMakeTwoEmailsPerContactAndTwoHundredHistoryEntries()
    {
        var scenario = new Scenario(fixture);
        var first = SmtpClusterFixture.NewAddress("a-soc");
        var second = SmtpClusterFixture.NewAddress("b-ciso");
        await scenario.AddContactAsync(first);
        await scenario.AddContactAsync(second);
        await scenario.EnableAsync(AlertName.ApiKeyCreated);
        var writerKey = await fixture.CreateApiKeyAsync(ApiKeyRole.EventWriter, scenario.ProjectId, "flood writer");
        var t0 = fixture.Clock.GetUtcNow();
        var events = Enumerable.Range(0, 200)
            .Select(i => scenario.ApiKey(t0.AddMinutes(-4).AddMilliseconds(i * 100), "CreateAPIKey", 200, principal: $"principal-{i:D3}", ip: $"203.0.113.{i % 250}", keyId: $"SCWFLOOD{i:D12}"))
            .ToList();

        await using (var writer = await fixture.CreateClientAsync(writerKey))
        {
            foreach (var batch in events.Chunk(50))
            {
                var result = await writer.Grains.GetGrain<IIngestGrain>(0).IngestAsync(scenario.ProjectId, batch);
                Assert.Equal(50, result.Accepted);
            }
        }

        // The first match is mailed at once; the 199 others wait in one digest per contact.
        Assert.Single(await fixture.Smtp.WaitForMessagesAsync(first));
        Assert.Single(await fixture.Smtp.WaitForMessagesAsync(second));
        var history = await HistoryAsync(scenario);
        Assert.Equal(200, history.Count);
        Assert.Equal(events.Select(static e => e.Id).Order(), history.Select(static f => f.Facts.EventId).Order());
        var immediate = Assert.Single(history, static f => f.Deliveries.All(static d => d.DigestId is null));
        Assert.Equal(events[0].Id, immediate.Facts.EventId);
        var grouped = history.Where(f => f.Id != immediate.Id).ToList();
        foreach (var address in new[] { first, second })
        {
            var digests = grouped.Select(f => Assert.Single(f.Deliveries, d => d.Recipient == address)).ToList();
            var digestId = Assert.Single(digests.Select(static d => d.DigestId).Distinct());
            Assert.NotNull(digestId);
            Assert.All(digests, d => Assert.Equal((DeliveryState.Pending, immediate.TriggeredAt + GroupInterval), (d.State, d.NextAttemptAt!.Value)));
        }

        // One group interval after the first email, one digest per contact lists every other match.
        fixture.Clock.Advance(GroupInterval);
        foreach (var address in new[] { first, second })
        {
            var mails = await fixture.Smtp.WaitForMessagesAsync(address, 2);
            var digest = mails[1].Message;
            Assert.Equal($"[AuditOrleans] Medium: ApiKeyCreated in {scenario.ProjectId}/fr-par: 199 more matches (digest)", digest.Subject);
            Assert.NotNull(digest.Headers[Grains.Notifications.DigestEmailComposer.DigestHeader]);
            var text = digest.TextBody;
            foreach (var e in events.Skip(1))
            {
                Assert.Contains($"Event id: {e.Id}", text);
                Assert.Contains($"Principal: {e.PrincipalId}", text);
                Assert.Contains($"API key: {e.Resources![0].Id}", text);
                Assert.Contains($"Source IP: {e.SourceIp}", text);
                Assert.Contains(e.Id!, digest.HtmlBody);
            }

            Assert.DoesNotContain(events[0].Id!, text);
            Assert.Contains("Recommended actions", text);
            Assert.Contains("https://console.example.test/base/audit-trail?project_id=", text);
        }

        await WaitAsync(scenario, static h => h.All(static f => f.Deliveries.All(static d => d.State == DeliveryState.Delivered)));
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Equal(2, fixture.Smtp.MessagesTo(first).Count);
        Assert.Equal(2, fixture.Smtp.MessagesTo(second).Count);
        Assert.Equal(200, (await HistoryAsync(scenario)).Count);
    }

    [Fact]
    public async Task AMatchAfterTheDigestWaitsForTheNextIntervalAndOneAfterAQuietIntervalIsMailedAtOnce()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyDeletionUnauthorized, AlertName.ApiKeyDeleted);
        var t0 = fixture.Clock.GetUtcNow();

        // Two alerts are two groups: each first match is mailed at once.
        await scenario.SendAsync(scenario.ApiKey(t0, "DeleteAPIKey", 403), scenario.ApiKey(t0, "DeleteAPIKey", 200));
        Assert.Equal(2, (await fixture.Smtp.WaitForMessagesAsync(security, 2)).Count);

        fixture.Clock.Advance(TimeSpan.FromMinutes(2));
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow(), "DeleteAPIKey", 403, principal: "intruder"));
        fixture.Clock.Advance(TimeSpan.FromMinutes(3));
        var digest = (await fixture.Smtp.WaitForMessagesAsync(security, 3))[2].Message;
        Assert.Equal($"[AuditOrleans] High: ApiKeyDeletionUnauthorized in {scenario.ProjectId}/fr-par: 1 more match (digest)", digest.Subject);
        Assert.Contains("Principal: intruder", digest.TextBody);

        // One minute after the digest: the group is still busy, so the match waits for the next interval.
        fixture.Clock.Advance(TimeSpan.FromMinutes(1));
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow(), "DeleteAPIKey", 403, principal: "intruder-2"));
        var waiting = Assert.Single(await HistoryAsync(scenario), static f => f.Facts.PrincipalId == "intruder-2");
        var pending = Assert.Single(waiting.Deliveries);
        Assert.NotNull(pending.DigestId);
        Assert.Equal(t0 + (2 * GroupInterval), pending.NextAttemptAt);
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Equal(3, fixture.Smtp.MessagesTo(security).Count);
        fixture.Clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Contains("Principal: intruder-2", (await fixture.Smtp.WaitForMessagesAsync(security, 4))[3].Message.TextBody);

        // After a quiet interval the next match is mailed at once, with an email of its own.
        fixture.Clock.Advance(GroupInterval);
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow(), "DeleteAPIKey", 403, principal: "intruder-3"));
        var single = (await fixture.Smtp.WaitForMessagesAsync(security, 5))[4].Message;
        Assert.Equal($"[AuditOrleans] High: ApiKeyDeletionUnauthorized in {scenario.ProjectId}/fr-par", single.Subject);
        var history = await WaitAsync(scenario, static h => h.All(static f => f.Deliveries.Single().State == DeliveryState.Delivered));
        Assert.Equal(5, history.Count);
        Assert.Equal(2, history.Count(static f => f.Deliveries.Single().DigestId is not null));
    }

    [Fact]
    public async Task TestAlertsAndTheForbiddenRateAreNeverGrouped()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        var outbox = fixture.Grains.GetGrain<INotificationGrain>(0);
        await outbox.SendTestAsync(scenario.ProjectId, scenario.Region, AlertName.ApiKeyCreated);
        await outbox.SendTestAsync(scenario.ProjectId, scenario.Region, AlertName.ApiKeyCreated);
        Assert.Equal(2, (await fixture.Smtp.WaitForMessagesAsync(security, 2)).Count);
        Assert.All(await HistoryAsync(scenario), static f => Assert.Null(Assert.Single(f.Deliveries).DigestId));
    }

    internal static async Task<IReadOnlyList<FiredAlert>> HistoryAsync(Scenario scenario) =>
        await scenario.Grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = scenario.ProjectId, Limit = QueryLimits.MaxAlertHistory });

    internal static async Task<IReadOnlyList<FiredAlert>> WaitAsync(Scenario scenario, Func<IReadOnlyList<FiredAlert>, bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        IReadOnlyList<FiredAlert> history = [];
        while (!deadline.IsCancellationRequested)
        {
            history = await HistoryAsync(scenario);
            if (condition(history))
            {
                return history;
            }

            await Task.Delay(25, CancellationToken.None);
        }

        throw new TimeoutException($"The history did not reach the expected state; last seen: {string.Join("; ", history.SelectMany(static f => f.Deliveries).Select(static d => $"{d.Recipient} {d.State} {d.DigestId}"))}");
    }
}
