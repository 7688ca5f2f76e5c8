using AuditOrleans.Grains.Notifications;
using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using MimeKit;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>Without an SMTP host, each email is an .eml file in the pickup directory.</summary>
[Collection(PickupCollection.Name)]
public sealed class PickupDirectoryTests(AuditClusterFixture fixture)
{
    private string Outbox => fixture.Directory.Combine("outbox");

    [Fact]
    public async Task WithoutAnSmtpHostTheEmailIsWrittenAsOneEmlFile()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyCreated);

        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "CreateAPIKey", 201));

        var firing = await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Delivered);
        var messageId = NotificationStore.MessageId(firing.Id, security);
        var path = Path.Combine(Outbox, MailSender.PickupFileName(messageId));
        Assert.True(File.Exists(path), $"Expected {path}.");
        Assert.Single(Directory.GetFiles(Outbox, "*", SearchOption.AllDirectories), f => f.Contains(firing.Id, StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(Outbox, "*.tmp"));

        Assert.All(await File.ReadAllLinesAsync(path), static line => Assert.True(line.Length <= 998, "RFC 5322 limits lines to 998 characters."));
        var message = await MimeMessage.LoadAsync(path);
        Assert.Equal(messageId, message.MessageId);
        Assert.Equal(security, Assert.Single(message.To.Mailboxes).Address);
        Assert.Equal($"[AuditOrleans] Medium: ApiKeyCreated in {scenario.ProjectId}/fr-par", message.Subject);
        Assert.Contains("SCWABCDEFGHIJKLMNOPQ", message.TextBody);
        Assert.Contains("http://localhost:8080/audit-trail?project_id=" + scenario.ProjectId, message.TextBody);
        Assert.Contains("SCWABCDEFGHIJKLMNOPQ", message.HtmlBody);
        // One click from the email to the incident timeline of the firing.
        var timeline = $"http://localhost:8080/incident?project_id={scenario.ProjectId}&firing={firing.Id}";
        Assert.Contains(timeline, message.TextBody);
        Assert.Contains($"<a href=\"{timeline.Replace("&", "&amp;", StringComparison.Ordinal)}\">Follow the incident on its timeline</a>", message.HtmlBody);
    }

    [Fact]
    public async Task TestAlertWritesATestEmlFileAndReportsItDelivered()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);

        var result = await fixture.Grains.GetGrain<INotificationGrain>(0).SendTestAsync(scenario.ProjectId, "fr-par", AlertName.ApiKeyDeletionUnauthorized);

        Assert.Equal(DeliveryState.Delivered, Assert.Single(result.Deliveries).State);
        var message = await MimeMessage.LoadAsync(Path.Combine(Outbox, MailSender.PickupFileName(NotificationStore.MessageId(result.Id, security))));
        Assert.Equal($"[TEST] [AuditOrleans] High: ApiKeyDeletionUnauthorized in {scenario.ProjectId}/fr-par", message.Subject);
    }
}
