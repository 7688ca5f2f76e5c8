using System.Diagnostics;
using System.Management.Automation;
using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.PowerShell.Tests;

[CollectionDefinition(Name)]
public sealed class PowerShellTlsCollection : ICollectionFixture<TlsClusterFixture>
{
    public const string Name = "powershell TLS";
}

/// <summary>Connect-AuditCluster against silos with a certificate: trusted, untrusted, plain TCP, wrong name, bad trust file.</summary>
[Collection(PowerShellTlsCollection.Name)]
public sealed class TlsConnectTests(TlsClusterFixture fixture)
{
    private const string Connect = "Connect-AuditCluster -Gateway $gateway -ClusterId $clusterId -ServiceId $serviceId -ApiKey $apiKey -ProjectId $project -TimeoutSec 5";

    [Fact]
    public void TrustingTheCertificateConnectsOverTlsAndCallsWork()
    {
        using var ps = new PowerShellSession();
        var project = AuditClusterFixture.NewProjectId("ps-tls");
        // By name (checked against the certificate's localhost) and by address (its 127.0.0.1).
        foreach (var gateway in new[] { fixture.Gateway.Replace("127.0.0.1", "localhost", StringComparison.Ordinal), fixture.Gateway })
        {
            var run = ps.Run($"{Connect} -TrustedCertificatePath $trusted -PassThru; Enable-AuditAlert -Name ApiKeyCreated -Region fr-par -PassThru",
                [.. Variables(project, gateway), ("trusted", fixture.Certificate.CertificatePemPath)]).ThrowOnError();
            Assert.Equal(true, run.Output[0].Properties["UsesTls"].Value);
            Assert.Equal(project, run.Output[1].Properties["ProjectId"].Value);
        }
    }

    [Fact]
    public void AnUntrustedCertificateIsASecurityErrorAtOnce()
    {
        using var ps = new PowerShellSession();
        var clock = Stopwatch.StartNew();
        // -TimeoutSec 30: retrying would take that long; a refused handshake is reported at once.
        var run = ps.Run($"{Connect.Replace("-TimeoutSec 5", "-TimeoutSec 30", StringComparison.Ordinal)} -UseTls", Variables("p"));
        clock.Stop();

        var error = Assert.Single(run.Errors);
        Assert.Equal("TlsHandshakeFailed,AuditOrleans.PowerShell.Cmdlets.ConnectAuditClusterCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.SecurityError, error.CategoryInfo.Category);
        Assert.Contains("'CN=auditorleans-test'", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("is not issued by an authority this machine trusts", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("-TrustedCertificatePath", error.ErrorDetails.RecommendedAction, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
    }

    [Fact]
    public void AnotherNameThanTheCertificatesIsRefused()
    {
        using var ps = new PowerShellSession();
        var run = ps.Run($"{Connect} -TrustedCertificatePath $trusted -TlsServerName audit.example.com",
            [.. Variables("p"), ("trusted", fixture.Certificate.CertificatePemPath)]);
        Assert.Contains("is not issued to 'audit.example.com'", Assert.Single(run.Errors).Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PlainTcpToATlsGatewayFailsWithAHintAboutTls()
    {
        using var ps = new PowerShellSession();
        var run = ps.Run(Connect.Replace("-TimeoutSec 5", "-TimeoutSec 2", StringComparison.Ordinal), Variables("p"));
        var error = Assert.Single(run.Errors);
        Assert.StartsWith("ClusterUnreachable,", error.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains("-UseTls", error.ErrorDetails.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnreadableTrustFileIsAnArgumentError()
    {
        using var ps = new PowerShellSession();
        var run = ps.Run($"{Connect} -TrustedCertificatePath $trusted", [.. Variables("p"), ("trusted", fixture.Directory.Combine("missing.pem"))]);
        var error = Assert.Single(run.Errors);
        Assert.StartsWith("InvalidTrustedCertificate,", error.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Contains("missing.pem' does not exist", error.Exception.Message, StringComparison.Ordinal);
    }

    private (string, object?)[] Variables(string project, string? gateway = null) =>
    [
        ("gateway", gateway ?? fixture.Gateway),
        ("clusterId", fixture.Cluster.Options.ClusterId),
        ("serviceId", fixture.Cluster.Options.ServiceId),
        ("apiKey", AuditClusterFixture.OwnerApiKey),
        ("project", project),
    ];
}
