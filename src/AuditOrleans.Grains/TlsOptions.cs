namespace AuditOrleans.Grains;

public sealed class TlsOptions
{
    /// <summary>
    /// The silo's certificate with its private key: PKCS#12 (.pfx, .p12), or PEM with the key in
    /// the same file or in <see cref="CertificateKeyPath"/>. Empty: no TLS (plain TCP).
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key of the certificate, when it is not in <see cref="CertificatePath"/>.</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>Password of the PKCS#12 file or of the encrypted PEM key; never logged.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// Certificates (PEM bundle or one DER certificate) a silo's certificate must chain to for it
    /// to connect to this silo, silo to silo (mutual TLS). Default: this silo's own certificate,
    /// so that silos sharing one certificate trust each other and nothing else.
    /// </summary>
    public string? TrustedCertificatePath { get; set; }

    /// <summary>Time allowed for a handshake before the connection is closed.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}
