using System.Net;
using System.Net.Sockets;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Notifications;
using AuditOrleans.Testing;
using Microsoft.Extensions.Options;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>The SMTP sender on its own against real sockets: settings, login and how failures are classified.</summary>
public sealed class SenderTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private readonly SmtpTestServer server = new();

    public Task InitializeAsync()
    {
        server.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task SendsSeveralMessagesOverOneLoggedInConnection()
    {
        server.RequiredLogin = ("sender", "right-password");
        var (first, second) = (SmtpClusterFixture.NewAddress(), SmtpClusterFixture.NewAddress());

        var outcomes = await SendAsync(Smtp(s => (s.Username, s.Password) = ("sender", "right-password")), first, second);

        Assert.Equal([SendStatus.Delivered, SendStatus.Delivered], outcomes.Select(static o => o.Status));
        Assert.Equal("sender", Assert.Single(server.MessagesTo(first)).User);
        Assert.Equal("sender", Assert.Single(server.MessagesTo(second)).User);
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task ARefusedLoginIsTransientAndNamesTheSettings()
    {
        server.RequiredLogin = ("sender", "right-password");

        var outcome = Assert.Single(await SendAsync(Smtp(s => (s.Username, s.Password) = ("sender", "wrong-password")), SmtpClusterFixture.NewAddress()));

        Assert.Equal(SendStatus.Transient, outcome.Status);
        Assert.Contains("refused the login", outcome.Error);
        Assert.Contains("Smtp:Username and Smtp:Password", outcome.Error);
        Assert.DoesNotContain("wrong-password", outcome.Error);
    }

    [Fact]
    public async Task AnUnreachableServerFailsEveryMessageOfTheRoundAsTransient()
    {
        await server.StopAsync();

        var outcomes = await SendAsync(Smtp(), SmtpClusterFixture.NewAddress(), SmtpClusterFixture.NewAddress());

        Assert.All(outcomes, o => Assert.Equal(SendStatus.Transient, o.Status));
        Assert.All(outcomes, o => Assert.Contains($"Cannot connect to the SMTP server 127.0.0.1:{server.Port}", o.Error));
    }

    [Fact]
    public async Task TlsAgainstAPlainServerIsATransientTlsError()
    {
        var outcome = Assert.Single(await SendAsync(Smtp(s => s.Security = SmtpSecurity.SslOnConnect), SmtpClusterFixture.NewAddress()));

        Assert.Equal(SendStatus.Transient, outcome.Status);
        Assert.Contains($"TLS with the SMTP server 127.0.0.1:{server.Port} failed", outcome.Error);
        Assert.Contains("Smtp:Security", outcome.Error);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task RequiredStartTlsThatTheServerDoesNotOfferIsTransient()
    {
        var outcome = Assert.Single(await SendAsync(Smtp(s => s.Security = SmtpSecurity.StartTls), SmtpClusterFixture.NewAddress()));

        Assert.Equal(SendStatus.Transient, outcome.Status);
        Assert.Contains("STARTTLS", outcome.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task AServerThatNeverAnswersTimesOut()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;

        var outcome = Assert.Single(await SendAsync(Smtp(s => (s.Port, s.Timeout) = (port, TimeSpan.FromSeconds(1))), SmtpClusterFixture.NewAddress()));

        Assert.Equal(SendStatus.Transient, outcome.Status);
        Assert.Contains("did not answer within 1 s", outcome.Error);
    }

    [Fact]
    public async Task TheSessionTalksToTheServerOnAThreadOfItsOwnAheadOfThePool()
    {
        var options = Options.Create(new AuditOrleansOptions { Smtp = Smtp() });
        var composer = new AlertEmailComposer(options);
        var recipient = SmtpClusterFixture.NewAddress();
        var alert = TestAlerts.Sample("p1", "fr-par", AlertName.ApiKeyCreated, Now);
        await using var session = new MailSender(options).OpenSession();

        var outcome = await session.SendAsync(composer.Compose(alert, recipient, $"{alert.Id}.thread@auditorleans"), CancellationToken.None);

        Assert.Equal(SendStatus.Delivered, outcome.Status);
        Assert.Single(server.MessagesTo(recipient));
        if (OperatingSystem.IsLinux())
        {
            // The exchange ran on a session thread (this one's, alive while the session is kept),
            // raised where the system allows it.
            Assert.Contains(ThreadNiceness.ExpectedRaised, ThreadNiceness.Of("AuditOrleans SMTP"));
        }
    }

    private SmtpOptions Smtp(Action<SmtpOptions>? configure = null)
    {
        var smtp = new SmtpOptions { Host = "127.0.0.1", Port = server.Port, Security = SmtpSecurity.None, From = "alerts@auditorleans.test" };
        configure?.Invoke(smtp);
        return smtp;
    }

    private static async Task<IReadOnlyList<SendOutcome>> SendAsync(SmtpOptions smtp, params string[] recipients)
    {
        var options = Options.Create(new AuditOrleansOptions { Smtp = smtp });
        var composer = new AlertEmailComposer(options);
        var outcomes = new List<SendOutcome>();
        await using var session = new MailSender(options).OpenSession();
        foreach (var recipient in recipients)
        {
            var alert = TestAlerts.Sample("p1", "fr-par", AlertName.ApiKeyCreated, Now);
            outcomes.Add(await session.SendAsync(composer.Compose(alert, recipient, $"{alert.Id}.{outcomes.Count}@auditorleans"), CancellationToken.None));
        }

        return outcomes;
    }
}
