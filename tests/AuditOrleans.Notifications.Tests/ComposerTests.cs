using System.Globalization;
using System.Web;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Notifications;
using Microsoft.Extensions.Options;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>The composer, the link and the back-off on their own (no cluster).</summary>
public sealed class ComposerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 15, 30, 123, TimeSpan.Zero);

    [Theory]
    [InlineData(AlertName.HttpForbiddenErrorRateHigh, "status_code", "403")]
    [InlineData(AlertName.ApiKeyCreated, "method_name", "CreateAPIKey")]
    [InlineData(AlertName.ApiKeyCreationUnauthorized, "method_name", "CreateAPIKey")]
    [InlineData(AlertName.ApiKeyDeleted, "method_name", "DeleteAPIKey")]
    [InlineData(AlertName.ApiKeyDeletionUnauthorized, "method_name", "DeleteAPIKey")]
    public void TheLinkFiltersOnProjectRegionTimeFrameAndTheAlertsEvents(AlertName alert, string narrowing, string value)
    {
        var firing = TestAlerts.Sample("proj_1-A", "nl-ams", alert, Now);

        var link = new Uri(AuditTrailLink.For("https://console.example.com/audit/", firing));

        Assert.Equal("https://console.example.com/audit/audit-trail", link.GetLeftPart(UriPartial.Path));
        var query = HttpUtility.ParseQueryString(link.Query);
        Assert.Equal(5, query.Count);
        Assert.Equal("proj_1-A", query["project_id"]);
        Assert.Equal("nl-ams", query["region"]);
        Assert.Equal(value, query[narrowing]);
        Assert.Equal(firing.WindowStart, DateTimeOffset.Parse(query["recorded_after"]!, CultureInfo.InvariantCulture));
        Assert.Equal(firing.WindowEnd, DateTimeOffset.Parse(query["recorded_before"]!, CultureInfo.InvariantCulture));
        Assert.EndsWith("Z", query["recorded_after"], StringComparison.Ordinal);
        Assert.DoesNotContain(":", link.Query, StringComparison.Ordinal);
    }

    [Fact]
    public void TheMessageHasAStableIdentityTwoPartsAndTheTestMarker()
    {
        var composer = new AlertEmailComposer(Options.Create(new AuditOrleansOptions()));
        var firing = TestAlerts.Sample("p1", "fr-par", AlertName.HttpForbiddenErrorRateHigh, Now);

        var first = composer.Compose(firing, "sec@example.com", "abc.123@auditorleans");
        var again = composer.Compose(firing, "sec@example.com", "abc.123@auditorleans");

        Assert.Equal("abc.123@auditorleans", first.MessageId);
        Assert.Equal(Now, first.Date);
        Assert.Equal(first.TextBody, again.TextBody);
        Assert.Equal(first.HtmlBody, again.HtmlBody);
        Assert.Equal("[TEST] [AuditOrleans] High: HttpForbiddenErrorRateHigh in p1/fr-par", first.Subject);
        Assert.Equal("auto-generated", first.Headers["Auto-Submitted"]);
        Assert.Equal(firing.Id, first.Headers[AlertEmailComposer.FiringHeader]);
        Assert.Contains("Triggered at: 2026-11-23 10:15:30 UTC", first.TextBody);
        Assert.Contains($"{TestAlerts.SamplePrincipal} (17)", first.TextBody);
    }

    [Fact]
    public void AnInvalidFromAddressIsAClearError()
    {
        var options = new AuditOrleansOptions();
        options.Smtp.From = "not an address";
        var composer = new AlertEmailComposer(Options.Create(options));

        var error = Assert.Throws<InvalidOperationException>(() => composer.Compose(TestAlerts.Sample("p1", "fr-par", AlertName.ApiKeyCreated, Now), "a@example.com", "x@y"));

        Assert.Contains("Smtp:From", error.Message);
    }

    [Fact]
    public void RetriesDoubleFromTheInitialDelayUpToTheMaximum()
    {
        var smtp = new SmtpOptions { InitialRetryDelay = TimeSpan.FromSeconds(5), MaxRetryDelay = TimeSpan.FromSeconds(30) };

        var delays = Enumerable.Range(1, 6).Select(n => NotificationGrain.RetryDelay(smtp, n).TotalSeconds);

        Assert.Equal([5, 10, 20, 30, 30, 30], delays);
        Assert.Equal(TimeSpan.FromMinutes(10), NotificationGrain.RetryDelay(new SmtpOptions(), 1000));
    }

    [Theory]
    [InlineData("0193abcd.1a2b3c4d5e6f@auditorleans", "0193abcd.1a2b3c4d5e6f.eml")]
    [InlineData("../../etc/passwd@x", "_.._etc_passwd.eml")]
    public void PickupFileNamesComeFromTheMessageIdAndStayInTheDirectory(string messageId, string expected) =>
        Assert.Equal(expected, MailSender.PickupFileName(messageId));
}
