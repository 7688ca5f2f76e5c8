using System.Net;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Notifications;
using Microsoft.Extensions.Options;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>
/// A webhook contact cannot make the silo probe its own network: private, link-local,
/// unique-local, metadata and other non-public targets are refused when the contact is added,
/// with a message that says why and what to do; https is required except on loopback.
/// </summary>
[Collection(WebhookCollection.Name)]
public sealed class WebhookTargetTests(WebhookCollection.Fixture fixture)
{
    [Theory]
    [InlineData("http://10.0.0.5/", "10.0.0.5 is a private (RFC 1918) address")]
    [InlineData("https://192.168.1.20:8443/hook", "192.168.1.20 is a private (RFC 1918) address")]
    [InlineData("https://172.31.255.1/", "private (RFC 1918)")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address")]
    [InlineData("https://169.254.10.1/", "link-local")]
    [InlineData("https://[fd00::1]/", "fd00::1 is a unique-local (private IPv6) address")]
    [InlineData("https://[fe80::1]/", "link-local")]
    [InlineData("https://[::ffff:10.1.2.3]/", "private (RFC 1918)")]
    [InlineData("https://100.64.0.7/", "carrier-grade NAT")]
    [InlineData("https://0.0.0.0/", "unspecified")]
    [InlineData("https://[::]/", "unspecified")]
    [InlineData("https://224.0.0.251/", "multicast")]
    [InlineData("https://[ff02::1]/", "multicast")]
    [InlineData("https://255.255.255.255/", "broadcast")]
    [InlineData("http://8.8.8.8/alerts", "must use https")]
    [InlineData("https://user:password@8.8.8.8/", "user name or password")]
    [InlineData("ftp://8.8.8.8/", "not an absolute https URL")]
    [InlineData("/relative/path", "not an absolute https URL")]
    [InlineData("https://8.8.8.8/#part", "fragment")]
    public async Task ATargetOutsideThePublicInternetIsRefusedAtCreationWithAClearMessage(string url, string expected)
    {
        var project = AuditOrleans.Testing.AuditClusterFixture.NewProjectId("wt");
        var contacts = fixture.Grains.GetGrain<INotificationContactsGrain>(project);

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => contacts.AddWebhookAsync(url, WebhookFormat.Json, NotificationType.Security));

        Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
        if (expected.Contains("private", StringComparison.Ordinal) || expected.Contains("link-local", StringComparison.Ordinal) || expected.Contains("NAT", StringComparison.Ordinal))
        {
            Assert.Contains("AuditOrleans:Notifications:Webhooks:AllowPrivateTargets=true", refused.Message, StringComparison.Ordinal);
        }

        Assert.Empty(await contacts.GetWebhooksAsync());
    }

    [Fact]
    public async Task LoopbackOverHttpAndAPublicHttpsTargetAreAccepted()
    {
        var project = AuditOrleans.Testing.AuditClusterFixture.NewProjectId("wt");
        var contacts = fixture.Grains.GetGrain<INotificationContactsGrain>(project);

        var loopback = await contacts.AddWebhookAsync("http://127.0.0.1:9/hooks/a/b?token=x", WebhookFormat.Teams, NotificationType.Security);
        var v6 = await contacts.AddWebhookAsync("http://[::1]:9/", WebhookFormat.Json, NotificationType.Security);
        var publicTarget = await contacts.AddWebhookAsync("HTTPS://8.8.8.8/Hooks/Secret-Part", WebhookFormat.Slack, NotificationType.Security);

        Assert.Equal("http://127.0.0.1:9/hooks/…", loopback.Contact.DisplayUrl);
        Assert.Equal("http://[::1]:9/", v6.Contact.DisplayUrl);
        Assert.Equal("https://8.8.8.8/Hooks/…", publicTarget.Contact.DisplayUrl);

        // The same URL again: types added, format changed, secret kept (and not shown again).
        var again = await contacts.AddWebhookAsync("https://8.8.8.8/Hooks/Secret-Part", WebhookFormat.Json, NotificationType.Incident);
        Assert.False(again.Created);
        Assert.Null(again.Secret);
        Assert.Equal(publicTarget.Contact.Id, again.Contact.Id);
        Assert.Equal(NotificationType.Security | NotificationType.Incident, again.Contact.Types);
        Assert.Equal(WebhookFormat.Json, again.Contact.Format);
        Assert.Equal(publicTarget.Contact.SecretFingerprint, again.Contact.SecretFingerprint);
        Assert.Equal(WebhookFormat.Json, (await contacts.AddWebhookAsync("https://8.8.8.8/Hooks/Secret-Part", null, NotificationType.Security)).Contact.Format);
        Assert.Equal(3, (await contacts.GetWebhooksAsync()).Count);

        Assert.True(await contacts.RemoveWebhookAsync("https://8.8.8.8/Hooks/Secret-Part"));
        Assert.True(await contacts.RemoveWebhookAsync(loopback.Contact.Id));
        Assert.False(await contacts.RemoveWebhookAsync(loopback.Contact.Id));
        Assert.Null(await contacts.ResetWebhookSecretAsync(loopback.Contact.Id, null));
        Assert.Equal([v6.Contact.Id], (await contacts.GetWebhooksAsync()).Select(static w => w.Id));
    }

    [Theory]
    [InlineData("10.0.0.5", AddressCategory.Private)]
    [InlineData("172.16.0.1", AddressCategory.Private)]
    [InlineData("172.32.0.1", AddressCategory.Public)]
    [InlineData("192.168.0.1", AddressCategory.Private)]
    [InlineData("100.64.0.1", AddressCategory.SharedNat)]
    [InlineData("100.100.100.200", AddressCategory.Metadata)]
    [InlineData("169.254.169.254", AddressCategory.Metadata)]
    [InlineData("169.254.1.1", AddressCategory.LinkLocal)]
    [InlineData("127.0.0.2", AddressCategory.Loopback)]
    [InlineData("::1", AddressCategory.Loopback)]
    [InlineData("fd00:ec2::254", AddressCategory.Metadata)]
    [InlineData("fc00::5", AddressCategory.UniqueLocal)]
    [InlineData("fe80::1", AddressCategory.LinkLocal)]
    [InlineData("::ffff:192.168.1.1", AddressCategory.Private)]
    [InlineData("::ffff:169.254.169.254", AddressCategory.Metadata)]
    [InlineData("64:ff9b::a00:1", AddressCategory.Private)]
    [InlineData("2001:db8::1", AddressCategory.Reserved)]
    [InlineData("2606:4700:4700::1111", AddressCategory.Public)]
    [InlineData("1.1.1.1", AddressCategory.Public)]
    [InlineData("240.0.0.1", AddressCategory.Reserved)]
    [InlineData("198.18.0.1", AddressCategory.Reserved)]
    public void AddressesAreClassified(string address, AddressCategory expected) =>
        Assert.Equal(expected, WebhookTargetPolicy.Classify(IPAddress.Parse(address)));

    [Fact]
    public async Task AllowPrivateTargetsOpensPrivateNetworksButNeverMetadataAndLoopbackCanBeClosed()
    {
        var settings = new AuditOrleansOptions();
        settings.Notifications.Webhooks.AllowPrivateTargets = true;
        settings.Notifications.Webhooks.AllowLoopbackTargets = false;
        var policy = new WebhookTargetPolicy(Options.Create(settings));

        Assert.Equal("https://10.0.0.5/hook", (await policy.CheckNewAsync("https://10.0.0.5/hook")).AbsoluteUri);
        Assert.Equal("https://[fd00::1]/", (await policy.CheckNewAsync("https://[fd00::1]/")).AbsoluteUri);
        Assert.Contains("cloud metadata", (await Assert.ThrowsAsync<ArgumentException>(() => policy.CheckNewAsync("https://169.254.169.254/"))).Message, StringComparison.Ordinal);
        Assert.Contains("AllowLoopbackTargets is false", (await Assert.ThrowsAsync<ArgumentException>(() => policy.CheckNewAsync("http://127.0.0.1:9/"))).Message, StringComparison.Ordinal);
        Assert.Contains("must use https", (await Assert.ThrowsAsync<ArgumentException>(() => policy.CheckNewAsync("http://10.0.0.5/"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OptionsOutOfRangeAreRefusedAtStart()
    {
        var settings = new AuditOrleansOptions();
        settings.Notifications.Webhooks.Timeout = TimeSpan.Zero;
        settings.Notifications.Webhooks.MaxAttempts = 0;
        settings.Notifications.Webhooks.RotationGracePeriod = TimeSpan.FromDays(8);
        settings.Notifications.Webhooks.MaxRetryAfter = TimeSpan.FromDays(2);

        var errors = AuditOrleansOptionsValidator.Check(settings);

        Assert.Contains(errors, static e => e.StartsWith("AuditOrleans:Notifications:Webhooks:Timeout", StringComparison.Ordinal));
        Assert.Contains(errors, static e => e.StartsWith("AuditOrleans:Notifications:Webhooks:MaxAttempts", StringComparison.Ordinal));
        Assert.Contains(errors, static e => e.StartsWith("AuditOrleans:Notifications:Webhooks:RotationGracePeriod", StringComparison.Ordinal));
        Assert.Contains(errors, static e => e.StartsWith("AuditOrleans:Notifications:Webhooks:MaxRetryAfter", StringComparison.Ordinal));
        Assert.Empty(AuditOrleansOptionsValidator.Check(new AuditOrleansOptions()));
    }
}
