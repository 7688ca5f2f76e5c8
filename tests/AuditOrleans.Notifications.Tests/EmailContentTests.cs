using System.Globalization;
using System.Net;
using System.Web;
using AuditOrleans.Grains.Notifications;
using AuditOrleans.Testing;
using MimeKit;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>What the API-key alert emails and the Test-AuditAlert email say.</summary>
[Collection(SmtpCollection.Name)]
public sealed class EmailContentTests(SmtpClusterFixture fixture)
{
    [Theory]
    [InlineData(AlertName.ApiKeyCreated, "CreateAPIKey", 200, "Medium")]
    [InlineData(AlertName.ApiKeyCreationUnauthorized, "CreateAPIKey", 403, "High")]
    [InlineData(AlertName.ApiKeyDeleted, "DeleteAPIKey", 204, "Medium")]
    [InlineData(AlertName.ApiKeyDeletionUnauthorized, "DeleteAPIKey", 401, "High")]
    public async Task EachApiKeyAlertSendsTheKeyPrincipalAndSourceIp(AlertName alert, string method, int status, string severity)
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(alert);
        var at = fixture.Clock.GetUtcNow().AddMinutes(-2);

        await scenario.SendAsync(scenario.ApiKey(at, method, status, principal: "ops-robot-42", ip: "2001:db8::17", keyId: "SCWKEYUNDERTEST00001"));

        var message = Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security)).Message;
        var firing = Assert.Single(await scenario.HistoryAsync());
        Assert.Equal($"[AuditOrleans] {severity}: {alert} in {scenario.ProjectId}/fr-par", message.Subject);
        foreach (var part in new[] { message.TextBody, message.HtmlBody })
        {
            Assert.Contains("SCWKEYUNDERTEST00001", part);
            Assert.Contains("ops-robot-42", part);
            Assert.Contains("2001:db8::17", part);
            Assert.Contains(method, part);
            Assert.Contains(status.ToString(CultureInfo.InvariantCulture), part);
            Assert.Contains(AlertCatalog.Get(alert).Description, part);
            Assert.Contains(AlertEmailComposer.FormatTime(firing.TriggeredAt), part);
        }

        Assert.Contains("Principal: ops-robot-42", message.TextBody);
        Assert.Contains("Source IP: 2001:db8::17", message.TextBody);
        Assert.Contains("API key (access key): SCWKEYUNDERTEST00001", message.TextBody);

        var query = HttpUtility.ParseQueryString(new Uri(AuditTrailLink.For(SmtpClusterFixture.ConsoleBaseUrl, firing)).Query);
        Assert.Contains(AuditTrailLink.For(SmtpClusterFixture.ConsoleBaseUrl, firing), message.TextBody);
        Assert.Equal(method, query["method_name"]);
        Assert.Equal("fr-par", query["region"]); // iam is a global product: its events go to fr-par
        Assert.Null(query["status_code"]);
        var after = DateTimeOffset.Parse(query["recorded_after"]!, CultureInfo.InvariantCulture);
        var before = DateTimeOffset.Parse(query["recorded_before"]!, CultureInfo.InvariantCulture);
        Assert.True(after < at && at < before, $"The link's time frame {after:o}..{before:o} must contain the event ({at:o}).");
    }

    [Fact]
    public async Task HtmlInAPrincipalIdIsEscapedInTheHtmlPart()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyCreationUnauthorized);
        const string principal = "<script>alert('owned')</script><img src=x onerror=alert(1)>\"&amp;";

        var result = await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "CreateAPIKey", 403, principal: principal));
        Assert.Equal(1, result.Accepted);

        var message = Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security)).Message;
        var html = message.HtmlBody;
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(WebUtility.HtmlEncode(principal), html);
        Assert.Contains("&lt;script&gt;", html);
        Assert.Contains("&amp;amp;", html);
        Assert.Contains($"Principal: {principal}", message.TextBody);
    }

    [Fact]
    public async Task TestAlertDeliversATestEmailThroughTheRealPathAndReportsTheResult()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        var billing = SmtpClusterFixture.NewAddress("billing");
        await scenario.AddContactAsync(security);
        await scenario.AddContactAsync(billing, NotificationType.Billing);

        var result = await fixture.Grains.GetGrain<INotificationGrain>(0).SendTestAsync(scenario.ProjectId, "pl-waw-1", AlertName.HttpForbiddenErrorRateHigh);

        Assert.True(result.IsTest);
        Assert.Equal(("pl-waw", AlertName.HttpForbiddenErrorRateHigh, AlertSeverity.High), (result.Region, result.Alert, result.Severity));
        var delivery = Assert.Single(result.Deliveries);
        Assert.Equal((security, DeliveryState.Delivered, 1), (delivery.Recipient, delivery.State, delivery.Attempts));
        var message = Assert.Single(fixture.Smtp.MessagesTo(security)).Message;
        Assert.Equal($"[TEST] [AuditOrleans] High: HttpForbiddenErrorRateHigh in {scenario.ProjectId}/pl-waw", message.Subject);
        Assert.Contains("TEST NOTIFICATION", message.TextBody);
        Assert.Contains("HTTP 403 responses in the window: 21", message.TextBody);
        Assert.Contains("status_code=403", message.TextBody);
        Assert.Empty(fixture.Smtp.MessagesTo(billing));

        var history = Assert.Single(await scenario.HistoryAsync());
        Assert.True(history.IsTest);
        Assert.Equal(result.Id, history.Id);
    }

    [Fact]
    public async Task TestAlertReportsARetryWhenTheServerIsDown()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        var outbox = fixture.Grains.GetGrain<INotificationGrain>(0);

        FiredAlert result;
        await fixture.Smtp.StopAsync();
        try
        {
            result = await outbox.SendTestAsync(scenario.ProjectId, "fr-par", AlertName.ApiKeyDeleted);
        }
        finally
        {
            fixture.Smtp.Start();
        }

        var delivery = Assert.Single(result.Deliveries);
        Assert.Equal((DeliveryState.Retrying, 1), (delivery.State, delivery.Attempts));
        Assert.Contains("Cannot connect to the SMTP server", delivery.LastError);

        // The test firing is in the outbox like any other: it goes out at its retry.
        fixture.Clock.Advance(SmtpClusterFixture.InitialRetryDelay);
        var message = Assert.Single(await fixture.Smtp.WaitForMessagesAsync(security)).Message;
        Assert.StartsWith("[TEST] ", message.Subject, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TestAlertRefusesAProjectWithoutSecurityContactOrAnUnknownRegion()
    {
        var scenario = new Scenario(fixture);
        var outbox = fixture.Grains.GetGrain<INotificationGrain>(0);

        var noContact = await Assert.ThrowsAsync<InvalidOperationException>(() => outbox.SendTestAsync(scenario.ProjectId, "fr-par", AlertName.ApiKeyCreated));
        Assert.Contains("no Security contact", noContact.Message);
        Assert.Contains("Add-AuditNotificationContact", noContact.Message);

        await scenario.AddContactAsync(SmtpClusterFixture.NewAddress());
        var region = await Assert.ThrowsAsync<ArgumentException>(() => outbox.SendTestAsync(scenario.ProjectId, "us-east", AlertName.ApiKeyCreated));
        Assert.Contains("fr-par, nl-ams, pl-waw", region.Message);
        Assert.Empty(await scenario.HistoryAsync());
    }
}
