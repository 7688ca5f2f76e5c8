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

    [Fact]
    public void AnUpdateSaysTheEpisodeGoesOnWhatChangedAndThreadsUnderTheFiring()
    {
        var composer = new AlertEmailComposer(Options.Create(new AuditOrleansOptions()));
        var update = Episode(AlertKind.Update) with
        {
            Facts = Episode(AlertKind.Update).Facts with { Change = "new among the top principals: intruder-9" },
        };

        var mail = composer.Compose(update, "sec@example.com", "upd.1@auditorleans");

        Assert.Equal("[AuditOrleans] High: HttpForbiddenErrorRateHigh in p1/fr-par goes on (update)", mail.Subject);
        Assert.Equal("Update", mail.Headers[AlertEmailComposer.KindHeader]);
        Assert.Equal(NotificationStore.MessageId("opening", "sec@example.com"), mail.InReplyTo);
        Assert.Contains("UPDATE: the HttpForbiddenErrorRateHigh episode that started at 2026-11-23 10:00:00 UTC (opened by firing opening) goes on", mail.TextBody);
        Assert.Contains("new among the top principals: intruder-9", mail.TextBody);
        Assert.Contains("HTTP 403 responses in the episode so far: 420", mail.TextBody);
        Assert.Contains("Duration so far: 14 min 0 s", mail.TextBody);
        Assert.Contains("intruder-9 (300)", mail.HtmlBody);
    }

    [Fact]
    public void AResolvedNoticeSaysItIsOverWithTheWholeEpisode()
    {
        var composer = new AlertEmailComposer(Options.Create(new AuditOrleansOptions()));

        var mail = composer.Compose(Episode(AlertKind.Resolved), "sec@example.com", "res.1@auditorleans");

        Assert.Equal("[AuditOrleans] Resolved: HttpForbiddenErrorRateHigh in p1/fr-par", mail.Subject);
        Assert.Equal("Resolved", mail.Headers[AlertEmailComposer.KindHeader]);
        Assert.NotEqual(MimeKit.MessageImportance.High, mail.Importance);
        Assert.Contains("RESOLVED: the HttpForbiddenErrorRateHigh episode (opened by firing opening) is over", mail.TextBody);
        Assert.Contains("HTTP 403 responses in the whole episode: 420", mail.TextBody);
        Assert.Contains("First 403: 2026-11-23 10:00:00 UTC", mail.TextBody);
        Assert.Contains("Last 403: 2026-11-23 10:14:00 UTC", mail.TextBody);
        Assert.Contains("Duration: 14 min 0 s", mail.TextBody);
        Assert.Contains("Top principals (the whole episode): intruder-9 (300), user-1 (120)", mail.TextBody);
        Assert.Contains("RESOLVED", mail.HtmlBody);
    }

    [Fact]
    public void ADigestSaysWhyItsMatchesComeTogetherInWordsThatFitEveryChannel()
    {
        // The intro is the same for an email and a webhook digest (docs/webhooks.md, Digest).
        var settings = new AuditOrleansOptions();
        var firings = new[] { TestAlerts.Sample("p1", "fr-par", AlertName.ApiKeyCreated, Now) };
        var group = new DueDigest("g1", "p1", "sec@example.com", "fr-par", AlertName.ApiKeyCreated, Now, Now.AddMinutes(5), 0, "g1.x@auditorleans");
        var merged = group with { Id = "m1", Region = null, Alert = null };

        var grouped = DigestMessage.For(group, firings, 3, settings).Intro;
        var capped = DigestMessage.For(merged, firings, 3, settings).Intro;

        Assert.Equal(
            "ApiKeyCreated matched 3 more time(s) in p1/fr-par within 5 minute(s) of the previous notice about it (Alerts:GroupInterval). Each match is below and in the alert history.",
            grouped);
        Assert.Equal(
            $"The limit of notices to this contact ({settings.Alerts.MaxEmailsPerContactPerHour} an hour, Alerts:MaxEmailsPerContactPerHour) was reached, " +
            "so these 3 alerts of project p1 waited and come together. Each is below and in the alert history.",
            capped);
        Assert.DoesNotContain("email", grouped + capped.Replace("MaxEmailsPerContactPerHour", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(0, 40, "40 s")]
    [InlineData(12, 4, "12 min 4 s")]
    [InlineData(185, 0, "3 h 5 min")]
    [InlineData(1500, 0, "1 d 1 h")]
    public void DurationsReadAsWords(int minutes, int seconds, string expected) =>
        Assert.Equal(expected, AlertEmailComposer.FormatDuration(TimeSpan.FromMinutes(minutes) + TimeSpan.FromSeconds(seconds)));

    private static FiredAlert Episode(AlertKind kind)
    {
        var start = new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
        return new FiredAlert
        {
            Id = "notice",
            ProjectId = "p1",
            Region = "fr-par",
            Alert = AlertName.HttpForbiddenErrorRateHigh,
            Severity = AlertSeverity.High,
            TriggeredAt = start.AddMinutes(20),
            EventTime = start.AddMinutes(14),
            WindowStart = start.AddMinutes(-5),
            WindowEnd = start.AddMinutes(14),
            Kind = kind,
            EpisodeId = "opening",
            Facts = new AlertFacts
            {
                ForbiddenCount = 420,
                FirstEventTime = start,
                TopPrincipals = [new("intruder-9", 300), new("user-1", 120)],
                TopSourceIps = [new("203.0.113.66", 300), new("198.51.100.7", 120)],
            },
        };
    }
}
