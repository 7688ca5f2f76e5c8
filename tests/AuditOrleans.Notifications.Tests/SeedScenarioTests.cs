using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using System.Web;
using AuditOrleans.Grains.Notifications;
using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

[Collection(SmtpCollection.Name)]
public sealed partial class SeedScenarioTests(SmtpClusterFixture fixture)
{
    [GeneratedRegex(@"https://console\.example\.test/base/audit-trail\?\S+")]
    private static partial Regex LinkPattern();

    [Fact]
    public async Task TheTwentyFirstForbiddenSendsOneCompleteEmailToTheSecurityContactOnly()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress("security");
        var billing = SmtpClusterFixture.NewAddress("billing");
        await scenario.AddContactAsync(security, NotificationType.Security);
        await scenario.AddContactAsync(billing, NotificationType.Billing);
        await scenario.EnableAsync(AlertName.HttpForbiddenErrorRateHigh);
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-4); // recent: older than Alerts:LatenessThreshold, the firing would be marked late

        await scenario.SendAsync([.. Enumerable.Range(0, 20).Select(i => scenario.Forbidden(t0.AddSeconds(i * 10)))]);
        Assert.Empty(await scenario.HistoryAsync());

        await scenario.SendAsync(scenario.Forbidden(t0.AddSeconds(200)));
        var mail = Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security));
        var firing = await scenario.WaitForFiringAsync(static f => f.Deliveries.All(static d => d.State == DeliveryState.Delivered));
        var delivery = Assert.Single(firing.Deliveries);
        Assert.Equal((security, 1), (delivery.Recipient, delivery.Attempts));
        Assert.Empty(fixture.Smtp.MessagesTo(billing));

        // Envelope and headers.
        Assert.Equal([security], mail.Recipients);
        var message = mail.Message;
        Assert.Equal(security, Assert.Single(message.To.Mailboxes).Address);
        Assert.Equal("alerts@auditorleans.test", Assert.Single(message.From.Mailboxes).Address);
        Assert.Equal($"[AuditOrleans] High: HttpForbiddenErrorRateHigh in {scenario.ProjectId}/fr-par", message.Subject);
        Assert.Equal(NotificationStore.MessageId(firing.Id, security), message.MessageId);

        // Both parts carry every required element.
        var text = message.TextBody;
        var html = message.HtmlBody;
        Assert.NotNull(text);
        Assert.NotNull(html);
        var definition = AlertCatalog.Get(AlertName.HttpForbiddenErrorRateHigh);
        var triggered = firing.TriggeredAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
        foreach (var part in new[] { text, html })
        {
            Assert.Contains(triggered, part);
            Assert.Contains("HttpForbiddenErrorRateHigh", part);
            Assert.Contains("High", part);
            Assert.Contains("user-1 (21)", part);
            Assert.Contains("198.51.100.7 (21)", part);
        }

        Assert.Contains("HTTP 403 responses in the window: 21", text);
        Assert.Contains(definition.Description, text);
        Assert.Contains(WebUtility.HtmlEncode(definition.Description), html);
        foreach (var action in definition.RecommendedActions)
        {
            Assert.Contains(action, text);
            Assert.Contains(WebUtility.HtmlEncode(action), html);
        }

        // The link's filters parse back to the project, the region and the 403 window.
        var link = new Uri(LinkPattern().Match(text).Value);
        Assert.Contains($"href=\"{WebUtility.HtmlEncode(link.OriginalString)}\"", html);
        Assert.Equal("/base/audit-trail", link.AbsolutePath);
        var query = HttpUtility.ParseQueryString(link.Query);
        Assert.Equal(scenario.ProjectId, query["project_id"]);
        Assert.Equal("fr-par", query["region"]);
        Assert.Equal("403", query["status_code"]);
        var after = DateTimeOffset.Parse(query["recorded_after"]!, CultureInfo.InvariantCulture);
        var before = DateTimeOffset.Parse(query["recorded_before"]!, CultureInfo.InvariantCulture);
        Assert.Equal((firing.WindowStart, firing.WindowEnd), (after, before));
        Assert.Equal((t0.AddSeconds(200) - AlertCatalog.ForbiddenWindow, t0.AddSeconds(200)), (after, before));
        var inWindow = await fixture.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery
        {
            ProjectId = scenario.ProjectId,
            Region = query["region"],
            RecordedAfter = after,
            RecordedBefore = before,
            StatusCode = int.Parse(query["status_code"]!, CultureInfo.InvariantCulture),
        });
        Assert.Equal(21, inWindow.Records.Count);

        // Ten more in the same episode: no new firing, no new email.
        await scenario.SendAsync([.. Enumerable.Range(0, 10).Select(i => scenario.Forbidden(t0.AddSeconds(210 + i)))]);
        Assert.Single(await scenario.HistoryAsync());
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Single(fixture.Smtp.MessagesTo(security));
        Assert.Empty(fixture.Smtp.MessagesTo(billing));
    }

    [Fact]
    public async Task AFiringWithoutSecurityContactsSendsNothing()
    {
        var scenario = new Scenario(fixture);
        var billing = SmtpClusterFixture.NewAddress("billing");
        await scenario.AddContactAsync(billing, NotificationType.Billing | NotificationType.Technical);
        await scenario.EnableAsync(AlertName.ApiKeyCreated);

        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "CreateAPIKey", 200));

        var firing = Assert.Single(await scenario.HistoryAsync());
        Assert.Empty(firing.Deliveries);
        Assert.Empty(fixture.Smtp.MessagesTo(billing));
    }
}
