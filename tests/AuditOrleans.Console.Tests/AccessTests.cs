using System.Net;
using Xunit;

namespace AuditOrleans.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class AccessTests(ConsoleHostFixture fixture)
{
    [Fact]
    public async Task ALinkOpenedWithoutSessionGoesThroughSignInAndBackToTheLink()
    {
        var link = $"/audit-trail?project_id={ConsoleHostFixture.NewProjectId()}&region=fr-par&recorded_after=2026-11-23T09:00:00Z&status_code=403";
        using var session = fixture.NewSession();

        var first = await session.GetAsync(link);
        Assert.Equal(HttpStatusCode.Found, first.Status);
        Assert.StartsWith("/sign-in?return_url=", first.Location, StringComparison.Ordinal);

        var form = await session.GetAsync(first.Location!);
        Assert.Equal(HttpStatusCode.OK, form.Status);
        Assert.Contains("type=\"password\"", form.Body, StringComparison.Ordinal);
        var signedIn = await session.PostFormAsync("/sign-in", [new("api_key", fixture.OwnerKey), new("return_url", link)]);

        Assert.Equal(HttpStatusCode.Found, signedIn.Status);
        Assert.Equal(link, signedIn.Location);
        var cookie = Assert.Single(session.LastSetCookies, static c => c.StartsWith("auditorleans_session=", StringComparison.Ordinal));
        Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("expires=", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(fixture.OwnerKey, cookie, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.OwnerKey, signedIn.Location, StringComparison.Ordinal);

        var page = await session.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("Key <strong>", page.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.OwnerKey, page.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.OwnerKey, fixture.Silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASessionOpenedOnOneSiloIsValidOnAnotherSiloOfTheSameDatabase()
    {
        // Behind a load balancer without sticky sessions, the next request may reach another silo.
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);
        var cookie = session.Cookies["auditorleans_session"];

        await using var other = fixture.NewSiloOnTheSameDatabase("second");
        await other.StartAsync(TimeSpan.FromSeconds(90));
        using var elsewhere = new ConsoleSession(other.Urls);
        Assert.Equal(HttpStatusCode.Found, (await elsewhere.GetAsync("/alerts?project_id=p1")).Status);

        elsewhere.SetCookie("auditorleans_session", cookie);
        var page = await elsewhere.GetAsync("/alerts?project_id=p1");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("Key <strong>", page.Body, StringComparison.Ordinal);

        // A cookie the first silo did not make (here: altered) is still refused on the second.
        elsewhere.SetCookie("auditorleans_session", cookie[..^4] + (cookie.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA"));
        Assert.Equal(HttpStatusCode.Found, (await elsewhere.GetAsync("/alerts?project_id=p1")).Status);
        Assert.DoesNotContain(fixture.OwnerKey, other.Output, StringComparison.Ordinal);

        // Signing out on the first silo ends the session on the second too: a copy of the cookie opens nothing.
        Assert.Equal("/sign-in", (await session.PostFormAsync("/sign-out", [])).Location);
        elsewhere.SetCookie("auditorleans_session", cookie);
        var replayed = await elsewhere.GetAsync("/alerts?project_id=p1");
        Assert.Equal(HttpStatusCode.Found, replayed.Status);
        Assert.StartsWith("/sign-in", replayed.Location, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASignedOutSessionCookieIsRefusedWhenReplayed()
    {
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);
        var cookie = session.Cookies["auditorleans_session"];
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync("/alerts?project_id=p1")).Status);

        var signedOut = await session.PostFormAsync("/sign-out", []);
        Assert.Equal("/sign-in", signedOut.Location);

        // Whoever kept the cookie (a shared computer, a proxy log) replays it: refused, and told to forget it.
        using var replay = fixture.NewSession();
        replay.SetCookie("auditorleans_session", cookie);
        var page = await replay.GetAsync("/alerts?project_id=p1");
        Assert.Equal(HttpStatusCode.Found, page.Status);
        Assert.StartsWith("/sign-in", page.Location, StringComparison.Ordinal);
        Assert.Contains(replay.LastSetCookies, static c => c.StartsWith("auditorleans_session=;", StringComparison.Ordinal));

        // The session row is gone from the database; a new sign-in makes a new session.
        await session.SignInAsync(fixture.OwnerKey);
        Assert.NotEqual(cookie, session.Cookies["auditorleans_session"]);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync("/alerts?project_id=p1")).Status);
    }

    [Fact]
    public async Task ANonAsciiReturnUrlRedirectsToTheSamePageEncoded()
    {
        using var session = fixture.NewSession();
        var signedIn = await session.SignInAsync(fixture.OwnerKey, "/audit-trail?project_id=café&principal=用户");
        Assert.Equal(HttpStatusCode.Found, signedIn.Status);
        Assert.Equal("/audit-trail?project_id=caf%C3%A9&principal=%E7%94%A8%E6%88%B7", signedIn.Location);

        // The sign-in form carries it too (GET /sign-in?return_url=...).
        var form = await session.GetAsync("/sign-in?return_url=" + Uri.EscapeDataString("/alerts?project_id=é"));
        Assert.Equal(HttpStatusCode.OK, form.Status);

        // Still never another site, however it is spelt.
        foreach (var target in new[] { "/\u3000/evil.example", "/\\evil.example", "/x\\..\\evil", "/\t/evil.example", "https://évil.example/", "//évil.example" })
        {
            var other = await session.SignInAsync(fixture.OwnerKey, target);
            Assert.Equal(HttpStatusCode.Found, other.Status);
            Assert.True(other.Location is "/" or "/%E3%80%80/evil.example", $"{target} led to {other.Location}");
        }
    }

    [Fact]
    public async Task TheConsoleKeysAreEncryptedInTheDatabase()
    {
        using (var session = fixture.NewSession())
        {
            await session.SignInAsync(fixture.OwnerKey);
        }

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={fixture.DatabasePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT xml FROM console_keys";
        var keys = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                keys.Add(reader.GetString(0));
            }
        }

        Assert.NotEmpty(keys);
        Assert.All(keys, xml =>
        {
            var masterKey = System.Xml.Linq.XElement.Parse(xml).Descendants("masterKey").ToList();
            Assert.Empty(masterKey);
            Assert.Contains("InstallationKeyXmlDecryptor", xml, StringComparison.Ordinal);
        });
        Assert.DoesNotContain("No XML encryptor configured", fixture.Silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrongKeyIsRefusedAndSignOutEndsTheSession()
    {
        using var session = fixture.NewSession();
        var wrong = await session.SignInAsync("aok_not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Contains("This API key is not valid", wrong.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("auditorleans_session", session.Cookies.Keys);

        var bearer = await session.GetAsync("/alerts?project_id=p1", "aok_not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, bearer.Status);
        Assert.Contains("invalid_token", bearer.Headers["WWW-Authenticate"], StringComparison.Ordinal);

        await session.SignInAsync(fixture.OwnerKey);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync("/alerts?project_id=p1")).Status);
        var signedOut = await session.PostFormAsync("/sign-out", []);
        Assert.Equal("/sign-in", signedOut.Location);
        Assert.DoesNotContain("auditorleans_session", session.Cookies.Keys);
        Assert.Equal(HttpStatusCode.Found, (await session.GetAsync("/alerts?project_id=p1")).Status);
    }

    [Fact]
    public async Task ATamperedSessionCookieIsNotASession()
    {
        using var session = fixture.NewSession();
        await session.SignInAsync(fixture.OwnerKey);
        var value = session.Cookies["auditorleans_session"];
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(fixture.BaseUrl) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/alerts?project_id=p1");
        request.Headers.Add("Cookie", "auditorleans_session=" + value[..^4] + (value[^4..] == "AAAA" ? "BBBB" : "AAAA"));

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith("/sign-in", response.Headers.Location?.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReturnUrlsLeadOnlyToThisSite()
    {
        using var session = fixture.NewSession();
        foreach (var target in new[] { "https://evil.example/", "//evil.example/x", "/\\evil.example" })
        {
            var signedIn = await session.SignInAsync(fixture.OwnerKey, target);
            Assert.Equal("/", signedIn.Location);
        }
    }

    [Fact]
    public async Task MetricsNeedAKey()
    {
        using var session = fixture.NewSession();
        var anonymous = await session.GetAsync("/metrics");
        var wrong = await session.GetAsync("/metrics", "aok_wrong");
        var owner = await session.GetAsync("/metrics", fixture.OwnerKey);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.StartsWith("Bearer", anonymous.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Equal(HttpStatusCode.OK, owner.Status);
        Assert.StartsWith("text/plain", owner.ContentType, StringComparison.Ordinal);

        // Any key of the silo's key store works, as its role allows; a revoked one no longer.
        var created = await fixture.Client.GetGrain<IApiKeyGrain>(0).CreateAsync(ApiKeyRole.ReadOnly, "metrics-reader", null);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync("/metrics", created.Secret)).Status);
        await fixture.Client.GetGrain<IApiKeyGrain>(0).RevokeAsync(created.Key.Id);
        Assert.Equal(HttpStatusCode.Unauthorized, (await session.GetAsync("/metrics", created.Secret)).Status);
    }
}
