using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AuditOrleans.Grains;
using AuditOrleans.Testing;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace AuditOrleans.Silo.Tests;

/// <summary>The Tls settings are read at start: a file that cannot serve stops the silo with the setting's name, never its password.</summary>
public sealed class TlsConfigurationTests : IDisposable
{
    private readonly TempDirectory directory = new("auditorleans-tls-config");
    private readonly TestCertificate certificate;

    public TlsConfigurationTests()
    {
        certificate = TestCertificate.Create(directory.Path);
    }

    public void Dispose() => directory.Dispose();

    [Fact]
    public void NoCertificateMeansPlainTcp()
    {
        Assert.False(Read().Tls.Enabled);
    }

    [Fact]
    public void APfxWithItsPasswordAndAPemWithItsKeyAreAccepted()
    {
        Assert.True(Read(("Tls:CertificatePath", certificate.PfxPath), ("Tls:CertificatePassword", certificate.Password)).Tls.Enabled);
        Assert.True(Read(("Tls:CertificatePath", certificate.CertificatePemPath), ("Tls:CertificateKeyPath", certificate.KeyPemPath)).Tls.Enabled);
        Assert.True(Read(
            ("Tls:CertificatePath", certificate.PfxPath),
            ("Tls:CertificatePassword", certificate.Password),
            ("Tls:TrustedCertificatePath", certificate.CertificatePemPath)).Tls.Enabled);
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        var error = Assert.Throws<ConfigurationException>(() => Read(("Tls:CertificatePath", directory.Combine("absent.pfx"))));
        Assert.Contains("AuditOrleans:Tls:CertificatePath", error.Message, StringComparison.Ordinal);
        Assert.Contains("absent.pfx' does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AWrongPasswordIsNamedButNeverShown()
    {
        const string wrong = "not-the-password-1234";
        var error = Assert.Throws<ConfigurationException>(() => Read(("Tls:CertificatePath", certificate.PfxPath), ("Tls:CertificatePassword", wrong)));
        Assert.Contains("AuditOrleans:Tls:CertificatePath (with AuditOrleans:Tls:CertificatePassword", error.Message, StringComparison.Ordinal);
        Assert.Contains("check the password", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(certificate.Password, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACertificateWithoutItsKeyIsRefused()
    {
        var error = Assert.Throws<ConfigurationException>(() => Read(("Tls:CertificatePath", certificate.CertificatePemPath)));
        Assert.Contains("AuditOrleans:Tls:CertificatePath", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TlsSettingsWithoutACertificateAreRefused()
    {
        var error = Assert.Throws<ConfigurationException>(() => Read(("Tls:CertificatePassword", "x"), ("Tls:TrustedCertificatePath", certificate.CertificatePemPath)));
        Assert.Contains("AuditOrleans:Tls:CertificatePath is not", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASiloCertificateOutsideTheTrustedOnesIsRefused()
    {
        var other = TestCertificate.Create(directory.Path, "other");
        var error = Assert.Throws<ConfigurationException>(() => Read(
            ("Tls:CertificatePath", certificate.PfxPath),
            ("Tls:CertificatePassword", certificate.Password),
            ("Tls:TrustedCertificatePath", other.CertificatePemPath)));
        Assert.Contains("AuditOrleans:Tls:TrustedCertificatePath: the silo's own certificate would be refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACertificateIssuedByAnAuthorityNeedsThatAuthorityAsTrust()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=auditorleans-test-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        using var siloKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var siloRequest = new CertificateRequest("CN=silo-1", siloKey, HashAlgorithmName.SHA256);
        using var issued = siloRequest.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(10), [1, 2, 3, 4]);
        using var withKey = issued.CopyWithPrivateKey(siloKey);
        var pfx = directory.Combine("issued.pfx");
        File.WriteAllBytes(pfx, withKey.Export(X509ContentType.Pkcs12, "pw"));
        var caPem = directory.Combine("ca.pem");
        File.WriteAllText(caPem, ca.ExportCertificatePem());

        var error = Assert.Throws<ConfigurationException>(() => Read(("Tls:CertificatePath", pfx), ("Tls:CertificatePassword", "pw")));
        Assert.Contains("AuditOrleans:Tls:TrustedCertificatePath is needed", error.Message, StringComparison.Ordinal);
        Assert.True(Read(("Tls:CertificatePath", pfx), ("Tls:CertificatePassword", "pw"), ("Tls:TrustedCertificatePath", caPem)).Tls.Enabled);
    }

    private static AuditOrleansOptions Read(params (string Key, string Value)[] settings) =>
        SiloConfiguration.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(static s => new KeyValuePair<string, string?>("AuditOrleans:" + s.Key, s.Value)))
            .Build());
}
