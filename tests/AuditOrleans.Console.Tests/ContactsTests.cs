using System.Net;
using System.Text.RegularExpressions;
using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>The Contacts tab: email and webhook contacts listed, added and removed; a webhook's secret shown once.</summary>
[Collection(ConsoleCollection.Name)]
public sealed partial class ContactsTests(ConsoleHostFixture fixture)
{
    [Fact]
    public async Task WebhooksAreAddedWithTheirSecretShownOnceRotatedAndRemovedFromTheConsole()
    {
        var project = ConsoleHostFixture.NewProjectId();
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);

        var empty = await session.GetAsync($"/contacts?project_id={project}");
        Assert.Equal(HttpStatusCode.OK, empty.Status);
        Assert.Contains("its alerts reach nobody", empty.Body, StringComparison.Ordinal);
        Assert.Contains("aria-current=\"page\">Contacts</a>", empty.Body, StringComparison.Ordinal);

        var email = await session.PostFormAsync("/contacts", [new("project_id", project), new("email", "SecOps@Example.com"), new("type", "Security")]);
        Assert.Equal(HttpStatusCode.Found, email.Status);

        await session.GetAsync($"/contacts?project_id={project}");
        var added = await session.PostFormAsync("/contacts", [new("project_id", project), new("webhook_url", "https://8.8.8.8/hooks/console-secret-part"), new("format", "Teams"), new("type", "Security")]);
        Assert.Equal(HttpStatusCode.OK, added.Status);
        var secret = SecretPattern().Match(WebUtility.HtmlDecode(added.Body)).Value;
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Contains("it is shown this once", added.Body, StringComparison.Ordinal);
        var webhook = Assert.Single(await fixture.Client.GetGrain<INotificationContactsGrain>(project).GetWebhooksAsync());
        Assert.Equal(WebhookFormat.Teams, webhook.Format);
        Assert.Contains(webhook.SecretFingerprint, added.Body, StringComparison.Ordinal);

        var listed = await session.GetAsync($"/contacts?project_id={project}");
        Assert.Contains("secops@example.com", listed.Body, StringComparison.Ordinal);
        Assert.Contains("Teams https://8.8.8.8/hooks/…", listed.Body, StringComparison.Ordinal);
        Assert.Contains(webhook.SecretFingerprint, listed.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, WebUtility.HtmlDecode(listed.Body), StringComparison.Ordinal);
        Assert.DoesNotContain("console-secret-part", listed.Body, StringComparison.Ordinal);

        var refused = await session.PostFormAsync("/contacts", [new("project_id", project), new("webhook_url", "http://169.254.169.254/latest/"), new("format", "Json")]);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("cloud metadata address", refused.Body, StringComparison.Ordinal);

        await session.GetAsync($"/contacts?project_id={project}");
        var rotated = await session.PostFormAsync("/contacts/rotate", [new("project_id", project), new("webhook_id", webhook.Id), new("grace_hours", "2")]);
        Assert.Equal(HttpStatusCode.OK, rotated.Status);
        var newSecret = SecretPattern().Match(WebUtility.HtmlDecode(rotated.Body)).Value;
        Assert.NotEqual(secret, newSecret);
        Assert.Contains("The previous secret also signs until", rotated.Body, StringComparison.Ordinal);

        await session.GetAsync($"/contacts?project_id={project}");
        var removed = await session.PostFormAsync("/contacts/remove", [new("project_id", project), new("webhook_id", webhook.Id)]);
        Assert.Equal(HttpStatusCode.Found, removed.Status);
        Assert.Empty(await fixture.Client.GetGrain<INotificationContactsGrain>(project).GetWebhooksAsync());
    }

    [Fact]
    public async Task AReadOnlyKeySeesContactsButCannotChangeThem()
    {
        var project = ConsoleHostFixture.NewProjectId();
        await fixture.Client.GetGrain<INotificationContactsGrain>(project).AddWebhookAsync("https://8.8.4.4/hooks/x", WebhookFormat.Slack, NotificationType.Security);
        var (key, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, project);
        using var session = fixture.NewSession();
        await session.SignInAsync(key);

        var page = await session.GetAsync($"/contacts?project_id={project}");
        Assert.Contains("Slack https://8.8.4.4/hooks/…", page.Body, StringComparison.Ordinal);
        Assert.Contains("can view contacts but not change them", page.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("action=\"/contacts/rotate\"", page.Body, StringComparison.Ordinal);

        var refused = await session.PostFormAsync("/contacts", [new("project_id", project), new("webhook_url", "https://8.8.8.8/x")]);
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Single(await fixture.Client.GetGrain<INotificationContactsGrain>(project).GetWebhooksAsync());
    }

    [GeneratedRegex("whsec_[A-Za-z0-9+/=]{44}")]
    private static partial Regex SecretPattern();
}
