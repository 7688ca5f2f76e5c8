using System.Globalization;
using AuditOrleans.Testing;
using AuditOrleans.Tls;
using Xunit;

namespace AuditOrleans.Silo.Tests;

/// <summary>The host as shipped, with a PEM certificate and key: TLS on at start, clients that trust it work; a wrong password stops it at once.</summary>
public sealed class TlsHostTests : IDisposable
{
    private readonly TempDirectory directory = new("auditorleans-tls-host");

    public void Dispose() => directory.Dispose();

    [Fact]
    public async Task TheHostServesTlsWithAPemCertificateAndItsKey()
    {
        var certificate = TestCertificate.Create(directory.Path);
        var ports = FreePort.Next(2);
        await using var silo = new SiloProcess("tls-silo", new Dictionary<string, string>
        {
            ["Cluster:SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["Cluster:GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
            ["Tls:CertificatePath"] = certificate.CertificatePemPath,
            ["Tls:CertificateKeyPath"] = certificate.KeyPemPath,
        });
        await silo.StartAsync();
        Assert.Contains($"TLS on for gateway and silo connections: certificate 'CN=auditorleans-test' (SHA-256 {certificate.Sha256Thumbprint}", silo.Output, StringComparison.Ordinal);

        var tls = new TlsClientSettings { TrustedCertificates = TlsCertificates.LoadTrusted(certificate.CertificatePemPath) };
        await using (var client = await TestClient.ConnectAsync(
            "auditorleans", "auditorleans", [new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, ports[1])], TimeSpan.FromSeconds(30), AuditClusterFixture.OwnerApiKey, tls: tls))
        {
            var project = AuditClusterFixture.NewProjectId("tls-host");
            var at = DateTimeOffset.UtcNow.AddMinutes(-1);
            var result = await client.Grains.GetGrain<IIngestGrain>(0).IngestAsync(project, [new AuditEvent
            {
                Id = "tls-host-1",
                RecordedAt = at,
                Locality = "fr-par",
                ProjectId = project,
                PrincipalId = "svc",
                SourceIp = "198.51.100.8",
                ProductName = "instance",
                MethodName = "ListServers",
                StatusCode = 200,
            }]);
            Assert.True(result.Accepted == 1, string.Join("; ", result.Errors));
            var page = await client.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = at.AddMinutes(-1) });
            Assert.Equal("tls-host-1", Assert.Single(page.Records).Event.Id);
        }

        Assert.Equal(0, await silo.StopAsync());
        Assert.DoesNotContain("PRIVATE KEY", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrongPasswordStopsTheHostNamingTheSetting()
    {
        var certificate = TestCertificate.Create(directory.Path);
        const string wrong = "wrong-password-5678";
        var ports = FreePort.Next(2);
        await using var silo = new SiloProcess("tls-bad", new Dictionary<string, string>
        {
            ["Cluster:SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["Cluster:GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
            ["Tls:CertificatePath"] = certificate.PfxPath,
            ["Tls:CertificatePassword"] = wrong,
        });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => silo.StartAsync());
        Assert.Contains("exited with code 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("AuditOrleans:Tls:CertificatePath (with AuditOrleans:Tls:CertificatePassword", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, silo.Output, StringComparison.Ordinal);
    }
}
