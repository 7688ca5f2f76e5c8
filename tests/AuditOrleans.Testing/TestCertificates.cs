using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AuditOrleans.Testing;

/// <summary>
/// Self-signed certificates for TLS tests, made with <see cref="CertificateRequest"/> as the
/// README shows: valid for localhost and 127.0.0.1, for server and client authentication.
/// </summary>
public sealed class TestCertificate
{
    private TestCertificate(string pfxPath, string password, string pemPath, string keyPath, string thumbprint)
    {
        PfxPath = pfxPath;
        Password = password;
        CertificatePemPath = pemPath;
        KeyPemPath = keyPath;
        Sha256Thumbprint = thumbprint;
    }

    /// <summary>PKCS#12 file with the private key, protected by <see cref="Password"/>.</summary>
    public string PfxPath { get; }

    public string Password { get; }

    /// <summary>The public certificate (PEM): what clients and other silos trust.</summary>
    public string CertificatePemPath { get; }

    /// <summary>The private key (unencrypted PKCS#8 PEM).</summary>
    public string KeyPemPath { get; }

    public string Sha256Thumbprint { get; }

    /// <summary>Creates the files <c>{name}.pfx</c>, <c>{name}.crt.pem</c> and <c>{name}.key.pem</c> in <paramref name="directory"/>.</summary>
    public static TestCertificate Create(string directory, string name = "silo", string commonName = "auditorleans-test")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));

        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        var pfx = Path.Combine(directory, name + ".pfx");
        var pem = Path.Combine(directory, name + ".crt.pem");
        var keyPem = Path.Combine(directory, name + ".key.pem");
        File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pkcs12, password));
        File.WriteAllText(pem, certificate.ExportCertificatePem());
        File.WriteAllText(keyPem, key.ExportPkcs8PrivateKeyPem());
        return new TestCertificate(pfx, password, pem, keyPem, certificate.GetCertHashString(HashAlgorithmName.SHA256));
    }
}
