using System.Net.Http.Headers;
using System.Text.Json;
using AuditOrleans.Grains.Notifications;
using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>
/// Webhook contacts end to end: a real receiver on loopback verifies the signature of every
/// request as the README says, and sees exactly one delivery per firing across an outage and a
/// silo restart, with the same webhook-id on every attempt; 410 and redirects are final.
/// </summary>
[Collection(WebhookCollection.Name)]
public sealed class WebhookDeliveryTests(WebhookCollection.Fixture fixture)
{
    private WebhookTestReceiver Receiver => fixture.Receiver;

    [Fact]
    public async Task AFiringArrivesAsTheSignedVersionedJsonDocumentWithEverythingTheEmailHas()
    {
        var scenario = new Scenario(fixture);
        var (path, issued) = await AddWebhookAsync(scenario, WebhookFormat.Json);
        await scenario.EnableAsync(AlertName.ApiKeyCreated);
        var at = fixture.Clock.GetUtcNow().AddMinutes(-1);
        await scenario.SendAsync(scenario.ApiKey(at, "CreateAPIKey", 200, principal: "admin-9", keyId: "SCWWEBHOOKKEY0000001"));

        var request = Assert.Single(await Receiver.WaitForAsync(path));
        Assert.Null(request.Rejection);
        Assert.StartsWith("application/json", request.ContentType, StringComparison.Ordinal);
        var firing = await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Delivered);
        var delivery = Assert.Single(firing.Deliveries);
        Assert.Equal(issued.Contact.Id, delivery.Recipient);
        Assert.Equal("webhook", delivery.Channel);
        Assert.Equal($"Json {issued.Contact.DisplayUrl}", delivery.Target);
        Assert.Equal(NotificationStore.MessageId(firing.Id, issued.Contact.Id), request.Id);
        Assert.StartsWith("msg_", request.Id, StringComparison.Ordinal);
        Assert.Equal(fixture.Clock.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), request.Timestamp);

        using var json = request.Json();
        var root = json.RootElement;
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        Assert.Equal("firing", root.GetProperty("kind").GetString());
        Assert.Equal(request.Id, root.GetProperty("id").GetString());
        Assert.Equal(firing.Id, root.GetProperty("firing_id").GetString());
        Assert.Equal(scenario.ProjectId, root.GetProperty("project_id").GetString());
        Assert.Equal("fr-par", root.GetProperty("region").GetString());
        Assert.Equal("Medium", root.GetProperty("severity").GetString());
        Assert.Equal("ApiKeyCreated", root.GetProperty("alert").GetProperty("name").GetString());
        Assert.Equal(AlertCatalog.Get(AlertName.ApiKeyCreated).Description, root.GetProperty("alert").GetProperty("description").GetString());
        Assert.Equal(firing.WindowStart, root.GetProperty("time_frame").GetProperty("start").GetDateTimeOffset());
        Assert.Equal(firing.WindowEnd, root.GetProperty("time_frame").GetProperty("end").GetDateTimeOffset());
        Assert.Equal(at, root.GetProperty("event_time").GetDateTimeOffset());
        Assert.False(root.GetProperty("test").GetBoolean());
        Assert.False(root.GetProperty("late").GetBoolean());
        Assert.False(root.GetProperty("backfill").GetBoolean());
        var facts = root.GetProperty("facts");
        Assert.Equal("SCWWEBHOOKKEY0000001", facts.GetProperty("api_key_id").GetString());
        Assert.Equal("admin-9", facts.GetProperty("principal_id").GetString());
        Assert.Equal(200, facts.GetProperty("status_code").GetInt32());
        Assert.Contains(root.GetProperty("fact_lines").EnumerateArray(), l => l.GetProperty("value").GetString() == "SCWWEBHOOKKEY0000001");
        Assert.Equal(AlertCatalog.Get(AlertName.ApiKeyCreated).RecommendedActions, root.GetProperty("recommended_actions").EnumerateArray().Select(static a => a.GetString()));
        Assert.Equal(AuditTrailLink.For(SmtpClusterFixture.ConsoleBaseUrl, firing), root.GetProperty("audit_log_url").GetString());
        Assert.Equal(IncidentLink.For(SmtpClusterFixture.ConsoleBaseUrl, firing), root.GetProperty("timeline_url").GetString());
    }

    [Fact]
    public async Task ADeliveryRidesOutA503ADownReceiverAndASiloRestartAndArrivesOnceWithTheSameWebhookId()
    {
        var scenario = new Scenario(fixture);
        var (path, issued) = await AddWebhookAsync(scenario, WebhookFormat.Json);
        Receiver.Script(path, 503, ("Retry-After", "30"));
        await scenario.EnableAsync(AlertName.ApiKeyDeletionUnauthorized);
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "DeleteAPIKey", 403));

        // Attempt 1: 503 with Retry-After 30 s, longer than the 5 s back-off: the receiver's wait wins.
        Assert.Equal(503, Assert.Single(await Receiver.WaitForAsync(path)).AnsweredStatus);
        var first = Assert.Single((await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Retrying)).Deliveries);
        Assert.Equal(1, first.Attempts);
        Assert.Contains("503", first.LastError, StringComparison.Ordinal);
        Assert.Equal(fixture.Clock.GetUtcNow() + TimeSpan.FromSeconds(30), first.NextAttemptAt);

        // Attempt 2: the receiver is down (connection refused).
        await Receiver.StopAsync();
        fixture.Clock.Advance(TimeSpan.FromSeconds(30));
        var second = Assert.Single((await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().Attempts == 2)).Deliveries);
        Assert.Equal(DeliveryState.Retrying, second.State);
        Assert.Contains("Cannot reach the Json webhook", second.LastError, StringComparison.Ordinal);

        // The silo goes away with the delivery pending; while it is down the retry falls due and the receiver comes back.
        await fixture.RestartAsync(() =>
        {
            fixture.Clock.Advance(WebhookCollection.InitialRetryDelay * 2);
            Receiver.Start();
            return Task.CompletedTask;
        });

        var requests = await Receiver.WaitForAsync(path, 2);
        var firing = await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Delivered);
        Assert.Equal(3, Assert.Single(firing.Deliveries).Attempts);
        await Scenario.CompleteRoundAsync(fixture);

        requests = Receiver.RequestsTo(path);
        Assert.Equal([503, 200], requests.Select(static r => r.AnsweredStatus));
        Assert.All(requests, r => Assert.Null(r.Rejection));
        Assert.All(requests, r => Assert.Equal(NotificationStore.MessageId(firing.Id, issued.Contact.Id), r.Id));
        Assert.Equal(requests[0].Text, requests[1].Text);
    }

    [Fact]
    public async Task AReceiverThatHangsHoldsUpNeitherTheEmailNorItsOwnNextNoticeOrder()
    {
        // A firing is sent to a receiver that does not answer.
        var scenario = new Scenario(fixture);
        var (path, _) = await AddWebhookAsync(scenario, WebhookFormat.Json);
        var release = Receiver.Hold(path);
        try
        {
            await scenario.EnableAsync(AlertName.ApiKeyCreated, AlertName.ApiKeyDeleted);
            await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-2), "CreateAPIKey", 200, keyId: "SCWHANGINGHOOK000001"));
            Assert.Single(await Receiver.WaitForAsync(path));

            // Meanwhile an email contact is added and another alert fires: the email goes out while the receiver still hangs.
            var email = SmtpClusterFixture.NewAddress("beside-a-hanging-hook");
            await scenario.AddContactAsync(email);
            await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "DeleteAPIKey", 200, keyId: "SCWHANGINGHOOK000002"));
            var mail = Assert.Single(await fixture.Smtp.WaitForMessagesAsync(email));
            Assert.Contains("ApiKeyDeleted", mail.Message.Subject, StringComparison.Ordinal);

            // The hanging request is still open (no attempt recorded: it has not timed out), and the
            // receiver's second notice waits for it: one request at a time per receiver.
            var hanging = (await scenario.HistoryAsync()).Single(static f => f.Alert == AlertName.ApiKeyCreated).Deliveries.Single();
            Assert.Equal((DeliveryState.Pending, 0), (hanging.State, hanging.Attempts));
            Assert.Single(Receiver.RequestsTo(path));
        }
        finally
        {
            release();
        }

        var requests = await Receiver.WaitForAsync(path, 2);
        Assert.All(requests, r => Assert.Null(r.Rejection));
        var history = await scenario.HistoryAsync();
        Assert.Equal(2, history.Count);
        Assert.All(history.SelectMany(static f => f.Deliveries), d => Assert.NotEqual(DeliveryState.Failed, d.State));
    }

    [Fact]
    public async Task RetryAfterAsAnHttpDateIsHonouredAndALongOneIsCappedAt429()
    {
        var scenario = new Scenario(fixture);
        var (path, _) = await AddWebhookAsync(scenario, WebhookFormat.Json);
        var asked = fixture.Clock.GetUtcNow().AddSeconds(45);
        Receiver.Script(path, 429, ("Retry-After", asked.ToString("r", System.Globalization.CultureInfo.InvariantCulture)));
        Receiver.Script(path, 503, ("Retry-After", "86400"));
        await scenario.EnableAsync(AlertName.ApiKeyDeleted);
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "DeleteAPIKey", 200));

        var first = Assert.Single((await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().Attempts == 1)).Deliveries);
        Assert.Equal(asked, first.NextAttemptAt);
        Assert.Contains("429 (TooManyRequests)", first.LastError, StringComparison.Ordinal);

        fixture.Clock.Advance(TimeSpan.FromSeconds(45));
        var second = Assert.Single((await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().Attempts == 2)).Deliveries);
        Assert.Equal(fixture.Clock.GetUtcNow() + TimeSpan.FromMinutes(2), second.NextAttemptAt); // Notifications:Webhooks:MaxRetryAfter of this cluster

        fixture.Clock.Advance(TimeSpan.FromMinutes(2));
        await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Delivered);
        Assert.Equal([429, 503, 200], Receiver.RequestsTo(path).Select(static r => r.AnsweredStatus));
    }

    [Fact]
    public async Task A410IsFinalAndShownAsFailedWithoutAnotherAttempt()
    {
        var scenario = new Scenario(fixture);
        var (path, _) = await AddWebhookAsync(scenario, WebhookFormat.Json);
        Receiver.Script(path, 410);
        using var outcomes = new DeliveryOutcomes();
        await scenario.EnableAsync(AlertName.ApiKeyDeleted);
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "DeleteAPIKey", 200));

        var failed = Assert.Single((await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Failed)).Deliveries);
        Assert.Equal(1, failed.Attempts);
        Assert.Contains("410", failed.LastError, StringComparison.Ordinal);
        Assert.Contains("not retried", failed.LastError, StringComparison.Ordinal);

        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Single(Receiver.RequestsTo(path));
        Assert.Equal(1, outcomes.Count("webhook", "failed"));
        Assert.Equal(0, outcomes.Count("webhook", "retrying"));
    }

    [Fact]
    public async Task ARedirectIsNotFollowedAndIsAFinalFailureThatSaysSo()
    {
        var scenario = new Scenario(fixture);
        var (path, issued) = await AddWebhookAsync(scenario, WebhookFormat.Json);
        var elsewhere = $"elsewhere/{Guid.NewGuid():N}";
        Receiver.Trust(elsewhere, issued.Secret!);
        Receiver.Script(path, 307, ("Location", Receiver.Url(elsewhere)));
        await scenario.EnableAsync(AlertName.ApiKeyDeleted);
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "DeleteAPIKey", 200));

        var failed = Assert.Single((await scenario.WaitForFiringAsync(static f => f.Deliveries.Single().State == DeliveryState.Failed)).Deliveries);
        Assert.Contains("307", failed.LastError, StringComparison.Ordinal);
        Assert.Contains("redirects are not followed", failed.LastError, StringComparison.Ordinal);
        await Scenario.CompleteRoundAsync(fixture);
        Assert.Single(Receiver.RequestsTo(path));
        Assert.Empty(Receiver.RequestsTo(elsewhere));
    }

    [Fact]
    public async Task TheReceiverRejectsAReplayedOrTamperedRequest()
    {
        var scenario = new Scenario(fixture);
        var (path, issued) = await AddWebhookAsync(scenario, WebhookFormat.Json);
        await scenario.EnableAsync(AlertName.ApiKeyCreated);
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "CreateAPIKey", 200));
        var genuine = Assert.Single(await Receiver.WaitForAsync(path));
        Assert.Null(genuine.Rejection);

        using var http = new HttpClient();
        async Task<int> ReplayAsync(string? id, string? timestamp, string? signature, byte[] body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Receiver.Url(path)) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TryAddWithoutValidation("webhook-id", id);
            request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp);
            request.Headers.TryAddWithoutValidation("webhook-signature", signature);
            using var response = await http.SendAsync(request);
            return (int)response.StatusCode;
        }

        var tampered = genuine.Body.ToArray();
        var at = genuine.Text.IndexOf("\"High\"", StringComparison.Ordinal) is var i and >= 0 ? i : genuine.Text.IndexOf("\"Medium\"", StringComparison.Ordinal);
        tampered[at + 1] ^= 0x20;
        Assert.Equal(401, await ReplayAsync(genuine.Id, genuine.Timestamp, genuine.Signature, tampered));
        Assert.Equal(401, await ReplayAsync(genuine.Id + "x", genuine.Timestamp, genuine.Signature, genuine.Body));
        Assert.Equal(401, await ReplayAsync(genuine.Id, (long.Parse(genuine.Timestamp!, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), genuine.Signature, genuine.Body));

        // The same request, unchanged: accepted now, rejected once it is older than five minutes.
        Assert.Equal(200, await ReplayAsync(genuine.Id, genuine.Timestamp, genuine.Signature, genuine.Body));
        fixture.Clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(401, await ReplayAsync(genuine.Id, genuine.Timestamp, genuine.Signature, genuine.Body));
        var rejected = Receiver.RequestsTo(path).Where(static r => r.AnsweredStatus == 401).Select(static r => r.Rejection).ToList();
        Assert.Equal(3, rejected.Count(static r => r == "no signature matches"));
        Assert.Contains("timestamp outside the tolerance (replayed or delayed)", rejected);
        Assert.NotNull(WebhookVerifier.Reject(WebhookKeys.NewSecret(), genuine.Id, genuine.Timestamp, genuine.Signature, genuine.Body, fixture.Clock.GetUtcNow() - TimeSpan.FromMinutes(6)));
        Assert.Null(WebhookVerifier.Reject(issued.Secret!, genuine.Id, genuine.Timestamp, genuine.Signature, genuine.Body, fixture.Clock.GetUtcNow() - TimeSpan.FromMinutes(6)));
    }

    [Fact]
    public async Task DuringARotationsGracePeriodBothSecretsSignThenOnlyTheNewOne()
    {
        var scenario = new Scenario(fixture);
        var (path, issued) = await AddWebhookAsync(scenario, WebhookFormat.Json);
        var contacts = fixture.Grains.GetGrain<INotificationContactsGrain>(scenario.ProjectId);
        var rotated = await contacts.ResetWebhookSecretAsync(issued.Contact.Id, TimeSpan.FromHours(1));
        Assert.NotNull(rotated);
        Assert.NotEqual(issued.Secret, rotated.Secret);
        Assert.NotEqual(issued.Contact.SecretFingerprint, rotated.Contact.SecretFingerprint);
        Assert.Equal(WebhookKeys.Fingerprint(rotated.Secret!), rotated.Contact.SecretFingerprint);
        Assert.Equal(fixture.Clock.GetUtcNow() + TimeSpan.FromHours(1), rotated.Contact.PreviousSecretExpiresAt);
        Receiver.Trust(path, rotated.Secret!);
        await scenario.EnableAsync(AlertName.ApiKeyDeleted);
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "DeleteAPIKey", 200, principal: "during"));

        var during = Assert.Single(await Receiver.WaitForAsync(path));
        Assert.Null(during.Rejection);
        Assert.Equal(2, during.Signature!.Split(' ').Length);
        var now = fixture.Clock.GetUtcNow();
        Assert.Null(WebhookVerifier.Reject(issued.Secret!, during.Id, during.Timestamp, during.Signature, during.Body, now));
        Assert.Null(WebhookVerifier.Reject(rotated.Secret!, during.Id, during.Timestamp, during.Signature, during.Body, now));

        fixture.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.Null(Assert.Single(await contacts.GetWebhooksAsync()).PreviousSecretExpiresAt);
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "DeleteAPIKey", 200, principal: "after"));
        var after = (await Receiver.WaitForAsync(path, 2))[1];
        Assert.Null(after.Rejection);
        Assert.Single(after.Signature!.Split(' '));
        Assert.NotNull(WebhookVerifier.Reject(issued.Secret!, after.Id, after.Timestamp, after.Signature, after.Body, fixture.Clock.GetUtcNow()));
    }

    [Fact]
    public async Task SlackAndTeamsGetTheSameFactsInTheirFormatWithEventValuesEscaped()
    {
        var scenario = new Scenario(fixture);
        var (slack, _) = await AddWebhookAsync(scenario, WebhookFormat.Slack);
        var (teams, _) = await AddWebhookAsync(scenario, WebhookFormat.Teams);
        await scenario.EnableAsync(AlertName.ApiKeyCreationUnauthorized);
        const string hostile = "<!channel> [click](https://evil.example/)";
        await scenario.SendAsync(scenario.ApiKey(fixture.Clock.GetUtcNow().AddMinutes(-1), "CreateAPIKey", 403, principal: hostile, keyId: "SCWCHATKEY0000000001"));

        var fromSlack = Assert.Single(await Receiver.WaitForAsync(slack));
        Assert.Null(fromSlack.Rejection);
        using (var json = fromSlack.Json())
        {
            var root = json.RootElement;
            Assert.Contains("ApiKeyCreationUnauthorized", root.GetProperty("text").GetString(), StringComparison.Ordinal);
            var blocks = root.GetProperty("blocks").EnumerateArray().ToList();
            Assert.Equal("header", blocks[0].GetProperty("type").GetString());
            var all = fromSlack.Text;
            Assert.Contains("SCWCHATKEY0000000001", all, StringComparison.Ordinal);
            Assert.DoesNotContain("<!channel>", JsonSerializer.Deserialize<JsonElement>(fromSlack.Body).ToString(), StringComparison.Ordinal);
            Assert.Contains(blocks, b => b.GetProperty("type").GetString() == "actions"
                && b.GetProperty("elements")[0].GetProperty("url").GetString()!.StartsWith(SmtpClusterFixture.ConsoleBaseUrl + "/audit-trail?", StringComparison.Ordinal));
        }

        var fromTeams = Assert.Single(await Receiver.WaitForAsync(teams));
        Assert.Null(fromTeams.Rejection);
        using (var json = fromTeams.Json())
        {
            var root = json.RootElement;
            Assert.Equal("message", root.GetProperty("type").GetString());
            var attachment = root.GetProperty("attachments")[0];
            Assert.Equal("application/vnd.microsoft.card.adaptive", attachment.GetProperty("contentType").GetString());
            var card = attachment.GetProperty("content");
            Assert.Equal("AdaptiveCard", card.GetProperty("type").GetString());
            var text = card.GetProperty("body").ToString();
            Assert.Contains("SCWCHATKEY0000000001", text, StringComparison.Ordinal);
            Assert.DoesNotContain("[click](https", text, StringComparison.Ordinal);
            Assert.Equal("Action.OpenUrl", card.GetProperty("actions")[0].GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task ATestAlertAndADigestReachAWebhookAsTheirOwnKinds()
    {
        var scenario = new Scenario(fixture);
        var (path, _) = await AddWebhookAsync(scenario, WebhookFormat.Json);

        var test = await fixture.Grains.GetGrain<INotificationGrain>(0).SendTestAsync(scenario.ProjectId, "fr-par", AlertName.HttpForbiddenErrorRateHigh);
        using (var json = Assert.Single(await Receiver.WaitForAsync(path)).Json())
        {
            Assert.Equal("test", json.RootElement.GetProperty("kind").GetString());
            Assert.True(json.RootElement.GetProperty("test").GetBoolean());
            Assert.Equal(test.Id, json.RootElement.GetProperty("firing_id").GetString());
            Assert.Equal(AlertCatalog.ForbiddenThreshold + 1, json.RootElement.GetProperty("facts").GetProperty("forbidden_count").GetInt32());
            Assert.Equal(2, json.RootElement.GetProperty("facts").GetProperty("top_principals").GetArrayLength());
        }

        // Two matches within the group interval: the first alone, the second in a digest five minutes later.
        await scenario.EnableAsync(AlertName.ApiKeyCreated);
        var at = fixture.Clock.GetUtcNow();
        await scenario.SendAsync(scenario.ApiKey(at.AddSeconds(-2), "CreateAPIKey", 200, principal: "first"));
        await Receiver.WaitForAsync(path, 2);
        await scenario.SendAsync(scenario.ApiKey(at.AddSeconds(-1), "CreateAPIKey", 200, principal: "second"));
        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        var digest = (await Receiver.WaitForAsync(path, 3))[2];
        Assert.Null(digest.Rejection);
        using var document = digest.Json();
        var root = document.RootElement;
        Assert.Equal("digest", root.GetProperty("kind").GetString());
        Assert.Equal(1, root.GetProperty("total").GetInt32());
        Assert.Equal("second", root.GetProperty("firings")[0].GetProperty("facts").GetProperty("principal_id").GetString());
        Assert.Equal("ApiKeyCreated", root.GetProperty("alert").GetProperty("name").GetString());
        Assert.StartsWith("msg_", digest.Id, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NeitherTheSecretNorTheUrlIsInTheDatabaseInClear()
    {
        var scenario = new Scenario(fixture);
        var (path, issued) = await AddWebhookAsync(scenario, WebhookFormat.Slack);
        var secretPath = path.Split('/')[1];

        var bytes = new List<byte>();
        foreach (var file in new[] { fixture.DatabasePath, fixture.DatabasePath + "-wal" }.Where(File.Exists))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            bytes.AddRange(copy.ToArray());
        }

        var raw = System.Text.Encoding.Latin1.GetString([.. bytes]);
        Assert.Contains(issued.Contact.Id, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(issued.Secret!, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(issued.Secret![WebhookKeys.SecretPrefix.Length..][..20], raw, StringComparison.Ordinal);
        Assert.DoesNotContain(secretPath, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(Convert.FromBase64String(issued.Secret![WebhookKeys.SecretPrefix.Length..])), raw, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("/hooks/…", issued.Contact.DisplayUrl, StringComparison.Ordinal);
    }

    /// <summary>A webhook contact of the scenario's project on a path of its own, trusted by the receiver.</summary>
    private async Task<(string Path, WebhookSecretIssued Issued)> AddWebhookAsync(Scenario scenario, WebhookFormat format)
    {
        var path = $"hooks/{Guid.NewGuid():N}";
        var issued = await fixture.Grains.GetGrain<INotificationContactsGrain>(scenario.ProjectId).AddWebhookAsync(Receiver.Url(path), format, NotificationType.Security);
        Assert.True(issued.Created);
        Assert.StartsWith(WebhookKeys.SecretPrefix, issued.Secret, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(issued.Secret![WebhookKeys.SecretPrefix.Length..]).Length);
        Receiver.Trust(path, issued.Secret);
        return (path, issued);
    }
}
