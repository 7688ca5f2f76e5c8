using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AuditOrleans.Tls;

/// <summary>Reads the certificate files of the TLS settings (PKCS#12 or PEM) with messages that say what is wrong.</summary>
public static class TlsCertificates
{
    /// <summary>Enhanced key usage OIDs checked on peers.</summary>
    internal const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    internal const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>
    /// Loads a certificate with its private key: a PKCS#12 file (.pfx, .p12), or a PEM file whose
    /// key is in the same file or in <paramref name="keyPath"/> (encrypted keys take
    /// <paramref name="password"/>).
    /// </summary>
    /// <exception cref="TlsCertificateException">The file is missing, unreadable, protected by another password, has no private key or has expired.</exception>
    public static X509Certificate2 LoadCertificate(string path, string? keyPath, string? password, TimeProvider? clock = null)
    {
        RequireFile(path, "certificate");
        if (keyPath is { Length: > 0 })
        {
            RequireFile(keyPath, "private key");
        }

        X509Certificate2 certificate;
        try
        {
            if (IsPem(path))
            {
                var key = keyPath is { Length: > 0 } ? keyPath : path;
                certificate = string.IsNullOrEmpty(password)
                    ? X509Certificate2.CreateFromPemFile(path, key)
                    : X509Certificate2.CreateFromEncryptedPemFile(path, password, key);
                if (OperatingSystem.IsWindows())
                {
                    // SChannel cannot use an ephemeral PEM key: give it a PKCS#12 round trip.
                    using var pem = certificate;
                    certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
                }
            }
            else
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.DefaultKeySet);
            }
        }
        catch (CryptographicException ex)
        {
            throw new TlsCertificateException(
                $"'{path}' could not be read as a certificate with its private key ({ex.Message.TrimEnd('.')}): check the password, or give a PKCS#12 (.pfx) file or a PEM certificate with its key.", ex);
        }
        catch (ArgumentException ex)
        {
            throw new TlsCertificateException($"'{path}' holds no usable PEM certificate and key ({ex.Message.TrimEnd('.')}): give the key in the same file or as the key file.", ex);
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new TlsCertificateException($"'{path}' holds a certificate without its private key: export it with the key (PKCS#12 .pfx) or give the PEM key file.");
        }

        var now = (clock ?? TimeProvider.System).GetUtcNow();
        if (certificate.NotAfter.ToUniversalTime() < now.UtcDateTime)
        {
            var expired = certificate.NotAfter.ToUniversalTime();
            certificate.Dispose();
            throw new TlsCertificateException($"The certificate in '{path}' expired on {expired:yyyy-MM-dd HH:mm} UTC: issue a new one.");
        }

        return certificate;
    }

    /// <summary>Loads the certificates to trust: a PEM file with one or more certificates (a bundle), or one DER certificate.</summary>
    /// <exception cref="TlsCertificateException">The file is missing or holds no certificate.</exception>
    public static X509Certificate2Collection LoadTrusted(string path)
    {
        RequireFile(path, "trusted certificate");
        var collection = new X509Certificate2Collection();
        try
        {
            if (IsPem(path))
            {
                collection.ImportFromPemFile(path);
            }
            else
            {
                collection.Add(X509CertificateLoader.LoadCertificateFromFile(path));
            }
        }
        catch (CryptographicException ex)
        {
            throw new TlsCertificateException($"'{path}' could not be read as a certificate ({ex.Message.TrimEnd('.')}): give a PEM file (one or more certificates) or a DER certificate.", ex);
        }

        return collection.Count > 0
            ? collection
            : throw new TlsCertificateException($"'{path}' holds no certificate: give a PEM file with -----BEGIN CERTIFICATE----- blocks or a DER certificate.");
    }

    /// <summary>Subject, SHA-256 thumbprint and expiry of a certificate, for logs and messages (nothing secret).</summary>
    public static string Describe(X509Certificate certificate)
    {
        var thumbprint = certificate is X509Certificate2 c2 ? c2.GetCertHashString(HashAlgorithmName.SHA256) : certificate.GetCertHashString();
        var expires = certificate is X509Certificate2 c ? $", expires {c.NotAfter.ToUniversalTime():yyyy-MM-dd}" : "";
        return $"'{certificate.Subject}' (SHA-256 {thumbprint}{expires})";
    }

    /// <summary>
    /// The certificates silos trust for each other: <paramref name="trusted"/> when given, else the
    /// silo's own certificate (its public part).
    /// </summary>
    public static X509Certificate2Collection SiloTrust(X509Certificate2 certificate, X509Certificate2Collection? trusted) =>
        trusted is { Count: > 0 } ? trusted : [X509CertificateLoader.LoadCertificate(certificate.RawData)];

    /// <summary>Why another silo would refuse <paramref name="certificate"/> (see <see cref="SiloTrust"/>), or null when it would accept it.</summary>
    public static string? SiloTrustProblem(X509Certificate2 certificate, X509Certificate2Collection? trusted)
    {
        using var chain = new X509Chain { ChainPolicy = CustomTrust(SiloTrust(certificate, trusted), ClientAuthOid) };
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthOid));
        if (chain.Build(certificate))
        {
            return null;
        }

        return string.Join(", ", chain.ChainStatus.Select(static s => s.Status.ToString()).Distinct());
    }

    /// <summary>A chain policy that trusts only <paramref name="anchors"/> (no system roots), without revocation checks (private CAs rarely publish CRLs).</summary>
    internal static X509ChainPolicy CustomTrust(X509Certificate2Collection anchors, string keyUsageOid)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(anchors);
        policy.ApplicationPolicy.Add(new Oid(keyUsageOid));
        return policy;
    }

    private static bool IsPem(string path)
    {
        // openssl writes "Bag Attributes" lines before the first block: look a little further than the start.
        var head = new byte[4096];
        using var file = File.OpenRead(path);
        var read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return System.Text.Encoding.ASCII.GetString(head, 0, read).Contains("-----BEGIN", StringComparison.Ordinal);
    }

    private static void RequireFile(string path, string what)
    {
        if (!File.Exists(path))
        {
            throw new TlsCertificateException($"The {what} file '{path}' does not exist (relative paths start at '{Environment.CurrentDirectory}').");
        }
    }
}
