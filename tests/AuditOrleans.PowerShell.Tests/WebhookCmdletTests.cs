using System.Management.Automation;
using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>Webhook contacts as a PowerShell user manages them: the secret shown once, listings without it, rotation, removal, refusals.</summary>
[Collection(PowerShellCollection.Name)]
public sealed class WebhookCmdletTests(PowerShellClusterFixture fixture)
{
    [Fact]
    public async Task AWebhookIsAddedWithItsSecretOnceListedWithoutItRotatedTestedAndRemoved()
    {
        var project = PowerShellClusterFixture.NewProjectId("psw");
        using var ps = fixture.Connect(project);
        await using var receiver = new WebhookTestReceiver(() => fixture.Clock.GetUtcNow());
        receiver.Start();
        var path = $"hooks/{Guid.NewGuid():N}";
        var url = receiver.Url(path);

        var added = Assert.Single(ps.Run("$hook = Add-AuditNotificationContact -WebhookUrl $url -Format Slack; $hook", ("url", url)).ThrowOnError().Output);
        Assert.Equal("AuditOrleans.PowerShell.AuditWebhookSecret", added.BaseObject.GetType().FullName);
        var secret = (string)added.Properties["Secret"].Value;
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        var id = (string)added.Properties["WebhookId"].Value;
        Assert.Equal($"http://127.0.0.1:{receiver.Port}/hooks/…", added.Properties["WebhookUrl"].Value);
        receiver.Trust(path, secret);

        // Adding the same URL again keeps the secret and says so.
        var again = ps.Run("Add-AuditNotificationContact -WebhookUrl $url -Type Security, Incident -PassThru", ("url", url)).ThrowOnError();
        Assert.Contains(again.Warnings, static w => w.Contains("secret is unchanged", StringComparison.Ordinal));
        Assert.Null(Assert.Single(again.Output).Properties["Secret"]);

        ps.Run("Add-AuditNotificationContact -Email soc@example.com").ThrowOnError();
        var listed = ps.Run("Get-AuditNotificationContact").ThrowOnError();
        Assert.Equal(["Email", "Webhook"], listed.Property("Kind"));
        var webhook = listed.Output[1];
        Assert.Equal(id, webhook.Properties["WebhookId"].Value);
        Assert.Equal($"Slack http://127.0.0.1:{receiver.Port}/hooks/…", webhook.Properties["Target"].Value);
        Assert.Equal(Grains.Notifications.WebhookKeys.Fingerprint(secret), webhook.Properties["SecretFingerprint"].Value);
        Assert.DoesNotContain(listed.Output, o => o.Properties.Any(p => p.Value is string s && s.Contains(secret, StringComparison.Ordinal)));
        Assert.Equal(["soc@example.com"], ps.Run("Get-AuditNotificationContact -Kind Email").ThrowOnError().Property("Target"));

        // Test-AuditAlert reaches the webhook too, signed with the secret shown above.
        var tested = Assert.Single(ps.Run("Test-AuditAlert -Name ApiKeyCreated -Region fr-par").ThrowOnError().Output);
        Assert.Contains($"Slack http://127.0.0.1:{receiver.Port}/hooks/…", (string[])tested.Properties["Recipients"].Value);
        var first = Assert.Single(await receiver.WaitForAsync(path));
        Assert.Null(first.Rejection);

        // The README's receiver check, as printed there, accepts the request and rejects a replay or a change.
        ps.Run(ReadmeVerificationBlock()).ThrowOnError();
        bool Verify(string key, byte[] body, DateTimeOffset now) => (bool)ps.Run(
            "Test-AuditWebhook -Secret $secret -Headers @{ 'webhook-id' = $id; 'webhook-timestamp' = $ts; 'webhook-signature' = $sig } -Body $body -Now $now",
            ("secret", key), ("id", first.Id), ("ts", first.Timestamp), ("sig", first.Signature), ("body", body), ("now", now)).ThrowOnError().Output[0].BaseObject;
        Assert.True(Verify(secret, first.Body, fixture.Clock.GetUtcNow()));
        Assert.False(Verify(secret, first.Body, fixture.Clock.GetUtcNow().AddMinutes(6)));
        Assert.False(Verify(secret, [.. first.Body, (byte)' '], fixture.Clock.GetUtcNow()));
        Assert.False(Verify(Grains.Notifications.WebhookKeys.NewSecret(), first.Body, fixture.Clock.GetUtcNow()));

        // Rotation: a new secret, shown once; both sign for the grace period.
        var rotated = Assert.Single(ps.Run("Get-AuditNotificationContact -Kind Webhook | Reset-AuditNotificationContactSecret -GracePeriod 01:00:00 -Force").ThrowOnError().Output);
        var newSecret = (string)rotated.Properties["Secret"].Value;
        Assert.NotEqual(secret, newSecret);
        Assert.Equal(fixture.Clock.GetUtcNow().AddHours(1), rotated.Properties["PreviousSecretExpiresAt"].Value);
        ps.Run("Test-AuditAlert -Name ApiKeyDeleted -Region fr-par").ThrowOnError();
        var second = (await receiver.WaitForAsync(path, 2))[1];
        Assert.Null(WebhookVerifier.Reject(newSecret, second.Id, second.Timestamp, second.Signature, second.Body, fixture.Clock.GetUtcNow()));
        Assert.Null(WebhookVerifier.Reject(secret, second.Id, second.Timestamp, second.Signature, second.Body, fixture.Clock.GetUtcNow()));

        ps.Run("Reset-AuditNotificationContactSecret -WebhookId $id -WhatIf", ("id", id)).ThrowOnError();
        Assert.Equal(Grains.Notifications.WebhookKeys.Fingerprint(newSecret), ps.Run("(Get-AuditNotificationContact -Kind Webhook).SecretFingerprint").ThrowOnError().Output[0].BaseObject);
        var badGrace = Assert.Single(ps.Run("Reset-AuditNotificationContactSecret -WebhookId $id -GracePeriod 8.00:00:00 -Force", ("id", id)).Errors);
        Assert.StartsWith("InvalidGracePeriod,", badGrace.FullyQualifiedErrorId, StringComparison.Ordinal);

        // Removal through the pipeline (by id), and by URL.
        ps.Run("Get-AuditNotificationContact -Kind Webhook | Remove-AuditNotificationContact -Force").ThrowOnError();
        Assert.Equal(["Email"], ps.Run("Get-AuditNotificationContact").ThrowOnError().Property("Kind"));
        var missing = Assert.Single(ps.Run("Remove-AuditNotificationContact -WebhookUrl $url -Force", ("url", url)).Errors);
        Assert.StartsWith("NotificationContactNotFound,", missing.FullyQualifiedErrorId, StringComparison.Ordinal);
        var noRotation = Assert.Single(ps.Run("Reset-AuditNotificationContactSecret -WebhookUrl $url -Force", ("url", url)).Errors);
        Assert.Equal(ErrorCategory.ObjectNotFound, noRotation.CategoryInfo.Category);
    }

    [Theory]
    [InlineData("http://10.0.0.5/", "private (RFC 1918)")]
    [InlineData("http://169.254.169.254/", "cloud metadata")]
    [InlineData("https://[fd00::1]/", "unique-local")]
    public void APrivateTargetIsRefusedWithAnErrorThatSaysWhatToDo(string url, string expected)
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId("psw"));

        var refused = Assert.Single(ps.Run("Add-AuditNotificationContact -WebhookUrl $url", ("url", url)).Errors);

        Assert.Equal(ErrorCategory.InvalidArgument, refused.CategoryInfo.Category);
        Assert.StartsWith("AddNotificationContactFailed,", refused.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains(expected, refused.Exception.Message, StringComparison.Ordinal);
        Assert.Empty(ps.Run("Get-AuditNotificationContact -Kind Webhook").ThrowOnError().Output);
    }

    /// <summary>The PowerShell block that follows the verify-webhook marker in the README.</summary>
    private static string ReadmeVerificationBlock()
    {
        var readme = File.ReadAllText(Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(PowerShellSession.ModuleManifest))))!, "README.md"));
        var marker = readme.IndexOf("<!-- verify-webhook:", StringComparison.Ordinal);
        var start = readme.IndexOf("```powershell\n", marker, StringComparison.Ordinal) + "```powershell\n".Length;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }
}
