using System.Diagnostics;
using AuditOrleans.Testing;
using AuditOrleans.Tls;
using Orleans.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace AuditOrleans.Silo.Tests;

[CollectionDefinition(Name)]
public sealed class TlsCollection : ICollectionFixture<TlsClusterFixture>
{
    public const string Name = "TLS cluster";
}

/// <summary>
/// TLS on a two-silo cluster over real TCP: clients that trust the certificate connect and work;
/// clients that do not, or that speak plain TCP, are refused quickly with a clear reason; the
/// silos themselves talk over mutual TLS.
/// </summary>
[Collection(TlsCollection.Name)]
public sealed class TlsTests(TlsClusterFixture fixture, ITestOutputHelper output)
{
    /// <summary>A refusal must come well within this (a hang or retries would take <see cref="Patience"/>).</summary>
    private static readonly TimeSpan Refusal = TimeSpan.FromSeconds(10);

    /// <summary>How long clients would keep trying.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AClientThatTrustsTheCertificateSendsAnEventAndReadsItBack()
    {
        await using var client = await TestClient.StartAsync(fixture.Cluster, AuditClusterFixture.OwnerApiKey, tls: fixture.TrustingClient);
        var project = AuditClusterFixture.NewProjectId("tls");
        var at = fixture.Clock.GetUtcNow().AddMinutes(-1);
        var result = await client.Grains.GetGrain<IIngestGrain>(0).IngestAsync(project, [new AuditEvent
        {
            Id = "tls-1",
            RecordedAt = at,
            Locality = "fr-par",
            ProjectId = project,
            PrincipalId = "svc",
            SourceIp = "198.51.100.7",
            ProductName = "instance",
            MethodName = "ListServers",
            StatusCode = 200,
        }]);
        Assert.True(result.Accepted == 1, string.Join("; ", result.Errors));

        var page = await client.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = at.AddMinutes(-1) });
        Assert.Equal("tls-1", Assert.Single(page.Records).Event.Id);
        Assert.Contains("TLS with the client at", fixture.Logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheTwoSilosFormAClusterOverMutualTls()
    {
        var hosts = await fixture.Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        Assert.Equal(2, hosts.Count);
        Assert.Contains("TLS on for gateway and silo connections", fixture.Logs.Text, StringComparison.Ordinal);
        Assert.Contains("TLS with the silo at", fixture.Logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Certificate.Password, fixture.Logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClientThatDoesNotTrustTheCertificateIsRefusedWithTheReason()
    {
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestClient.StartAsync(
            fixture.Cluster, AuditClusterFixture.OwnerApiKey, tls: new TlsClientSettings(), timeout: Patience));
        Assert.True(clock.Elapsed < Refusal, $"Refused after {clock.Elapsed.TotalSeconds:0.0} s.");
        var message = TlsClientBuilderExtensions.TlsFailureMessage(error);
        output.WriteLine($"{error.GetType().Name} after {clock.Elapsed.TotalSeconds:0.0} s: {message}");
        Assert.NotNull(message);
        Assert.Contains("is not issued by an authority this machine trusts", message, StringComparison.Ordinal);
        Assert.Contains("CN=auditorleans-test", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClientExpectingAnotherNameIsRefused()
    {
        var tls = fixture.TrustingClient with { ServerName = "audit.example.com" };
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestClient.StartAsync(fixture.Cluster, AuditClusterFixture.OwnerApiKey, tls: tls, timeout: Patience));
        Assert.Contains("is not issued to 'audit.example.com'", TlsClientBuilderExtensions.TlsFailureMessage(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APlainTcpClientCannotConnectToTheTlsGateway()
    {
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<Exception>(() => TestClient.StartAsync(
            fixture.Cluster, AuditClusterFixture.OwnerApiKey, configure: c => c.UseConnectionRetryFilter((_, _) => Task.FromResult(false)), timeout: Patience));
        Assert.True(clock.Elapsed < Refusal, $"Refused after {clock.Elapsed.TotalSeconds:0.0} s.");
        await WaitForLogAsync("TLS handshake with the client at");
        output.WriteLine(fixture.Logs.Lines.First(static l => l.Contains("TLS handshake with the client at", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ASiloPortRefusesPeersWithAnotherCertificateOrNone()
    {
        using var directory = new TempDirectory("auditorleans-tls");
        var stranger = TestCertificate.Create(directory.Path, "stranger");
        using var strangerCertificate = TlsCertificates.LoadCertificate(stranger.PfxPath, null, stranger.Password);
        var siloEndpoint = fixture.Cluster.Primary!.SiloAddress.Endpoint;

        // An impostor that accepts any server certificate and presents its own (or none).
        foreach (var presented in new[] { strangerCertificate, null })
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(siloEndpoint);
            await using var ssl = new System.Net.Security.SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, static (_, _, _, _) => true);
            var clock = Stopwatch.StartNew();
            var refused = false;
            try
            {
                await ssl.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
                {
                    TargetHost = "localhost",
                    ClientCertificates = presented is null ? null : [presented],
                });

                // TLS 1.3 finishes the client's side before the server checks the client certificate: the server then closes.
                using var limit = new CancellationTokenSource(Refusal);
                refused = await ssl.ReadAsync(new byte[1], limit.Token) == 0;
            }
            catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException)
            {
                refused = true;
            }

            Assert.True(refused, "The silo port answered an impostor.");
            Assert.True(clock.Elapsed < Refusal, $"Refused after {clock.Elapsed.TotalSeconds:0.0} s.");
        }

        await WaitForLogAsync($"'CN=auditorleans-test' (SHA-256 {stranger.Sha256Thumbprint}");
        await WaitForLogAsync("the silo presented no certificate");
        output.WriteLine(fixture.Logs.Lines.First(l => l.Contains(stranger.Sha256Thumbprint, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AGatewayPeerThatNeverSpeaksIsClosedAfterTheHandshakeTimeout()
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(fixture.Cluster.Primary!.GatewayAddress!.Endpoint);
        var clock = Stopwatch.StartNew();
        var silent = $"127.0.0.1:{((System.Net.IPEndPoint)tcp.Client.LocalEndPoint!).Port} ";

        // Meanwhile the gateway serves others: another handshake completes while this one still waits.
        using (var other = new System.Net.Sockets.TcpClient())
        {
            await other.ConnectAsync(fixture.Cluster.Primary!.GatewayAddress!.Endpoint);
            await using var ssl = new System.Net.Security.SslStream(other.GetStream(), leaveInnerStreamOpen: false,
                (_, certificate, _, _) => certificate is System.Security.Cryptography.X509Certificates.X509Certificate2 c
                    && c.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256) == fixture.Certificate.Sha256Thumbprint);
            await ssl.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "localhost" });
        }

        Assert.DoesNotContain(fixture.Logs.Lines, l => l.Contains(silent, StringComparison.Ordinal) && l.Contains("no handshake within", StringComparison.Ordinal));
        using var limit = new CancellationTokenSource(Refusal);
        int read;
        try
        {
            read = await tcp.GetStream().ReadAsync(new byte[1], limit.Token);
        }
        catch (IOException)
        {
            read = 0;
        }

        Assert.Equal(0, read);
        Assert.InRange(clock.Elapsed, TlsClusterFixture.HandshakeTimeout - TimeSpan.FromMilliseconds(500), Refusal);
        await WaitForLogAsync($"TLS handshake with the client at {silent}refused, connection closed: no handshake within {TlsClusterFixture.HandshakeTimeout.TotalSeconds:0} s");
    }

    [Fact]
    public async Task APortCheckThatConnectsAndLeavesIsNoWarning()
    {
        int port;
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync(fixture.Cluster.Primary!.GatewayAddress!.Endpoint);
            port = ((System.Net.IPEndPoint)tcp.Client.LocalEndPoint!).Port;
        }

        var remote = $"127.0.0.1:{port} ";
        await WaitForLogAsync($"The client at {remote}closed the connection before sending anything");
        Assert.DoesNotContain(fixture.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains(remote, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AClientFacingASilentGatewayGivesUpAfterTheHandshakeTimeout()
    {
        // Accepts connections and never answers: the client must not wait forever.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<System.Net.Sockets.Socket>();
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Add(await silent.AcceptSocketAsync());
            }
        });

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestClient.ConnectAsync(
            fixture.Cluster.Options.ClusterId, fixture.Cluster.Options.ServiceId, [(System.Net.IPEndPoint)silent.LocalEndpoint], Patience, AuditClusterFixture.OwnerApiKey,
            tls: fixture.TrustingClient with { HandshakeTimeout = TimeSpan.FromSeconds(1) }));
        Assert.True(clock.Elapsed < Refusal, $"Gave up after {clock.Elapsed.TotalSeconds:0.0} s.");
        Assert.Contains("no handshake within 1 s", TlsClientBuilderExtensions.TlsFailureMessage(error), StringComparison.Ordinal);
        silent.Stop();
        accepted.ForEach(static s => s.Dispose());
        await Assert.ThrowsAnyAsync<Exception>(() => accepting);
    }

    private async Task WaitForLogAsync(string text)
    {
        var clock = Stopwatch.StartNew();
        while (!fixture.Logs.Text.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"No log line with '{text}'.");
            await Task.Delay(50);
        }
    }
}
