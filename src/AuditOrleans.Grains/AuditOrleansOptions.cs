using System.ComponentModel.DataAnnotations;

namespace AuditOrleans.Grains;

/// <summary>Settings of the silo host, section <c>AuditOrleans</c> (docs/configuration.md).</summary>
public sealed class AuditOrleansOptions
{
    public const string SectionName = "AuditOrleans";

    public StorageOptions Storage { get; set; } = new();

    public ClusterOptions Cluster { get; set; } = new();

    public SmtpOptions Smtp { get; set; } = new();

    public ConsoleOptions Console { get; set; } = new();

    public SecurityOptions Security { get; set; } = new();

    public RetentionOptions Retention { get; set; } = new();

    /// <summary>TLS on the gateway and between silos; plain TCP while no certificate is configured.</summary>
    public TlsOptions Tls { get; set; } = new();

    /// <summary>Known regions; events and alerts in any other region are rejected.</summary>
    public List<string> Regions { get; set; } = [.. Scope.DefaultRegions];

    /// <summary>Directory for the silo's files (owner key, checkpoint key, published checkpoints).</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// Key that signs the log's checkpoints (at least 64 hex digits); never logged. Every silo of
    /// a cluster must use the same key, or a checkpoint signed by one silo reads as forged on
    /// another: set it in clusters (Cluster:Mode=AdoNet). Default: {DataDirectory}/checkpoint.key,
    /// created at first start.
    /// </summary>
    public string? CheckpointKey { get; set; }
}

public enum StorageProvider
{
    Sqlite,
    PostgreSql,
}

public sealed class StorageOptions
{
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>ADO.NET connection string; never logged.</summary>
    public string ConnectionString { get; set; } = "Data Source=data/auditorleans.db";

    public bool ApplySchema { get; set; } = true;
}

public enum ClusterMode
{
    Localhost,
    AdoNet,
}

public sealed class ClusterOptions
{
    public ClusterMode Mode { get; set; } = ClusterMode.Localhost;

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    [Required(AllowEmptyStrings = false)]
    public string ClusterId { get; set; } = "auditorleans";

    [Required(AllowEmptyStrings = false)]
    public string ServiceId { get; set; } = "auditorleans";

    /// <summary>Address advertised to other silos and clients; default: loopback in Localhost mode, the host's address otherwise.</summary>
    public string? AdvertisedIPAddress { get; set; }
}

public enum SmtpSecurity
{
    None,
    StartTls,
    SslOnConnect,
    Auto,
}

public sealed class SmtpOptions
{
    /// <summary>SMTP server; empty means emails are written to <see cref="PickupDirectory"/>.</summary>
    public string? Host { get; set; }

    [Range(1, 65535)]
    public int Port { get; set; } = 25;

    public SmtpSecurity Security { get; set; } = SmtpSecurity.Auto;

    public string? Username { get; set; }

    /// <summary>Never logged.</summary>
    public string? Password { get; set; }

    public string From { get; set; } = "AuditOrleans <auditorleans@localhost>";

    public string PickupDirectory { get; set; } = "data/outbox";

    /// <summary>Delay before the first retry; doubled at each failure up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Attempts before a delivery is marked failed.</summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 50;

    /// <summary>Time allowed for one SMTP conversation.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class ConsoleOptions
{
    /// <summary>Base URL of the web console, used in the links of alert emails.</summary>
    public string BaseUrl { get; set; } = "http://localhost:8080";
}

public sealed class SecurityOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>An Owner key to register at start (form ao_&lt;16 hex&gt;_&lt;secret&gt;); never logged. Without it, a generated key is written to {DataDirectory}/owner.key at first start.</summary>
    public string? BootstrapApiKey { get; set; }

    /// <summary>How long a validated (or refused) key stays cached on a silo; a key revoked elsewhere stops working within this time.</summary>
    [Range(0, 3600)]
    public int KeyCacheSeconds { get; set; } = 30;

    /// <summary>Events per second each API key may send to one silo (token bucket); 0 turns the limit off.</summary>
    [Range(0, 10_000_000)]
    public int IngestEventsPerSecond { get; set; } = 2000;

    /// <summary>Bucket size: events a key may send at once after a pause. At least the largest batch (5000).</summary>
    [Range(1, 100_000_000)]
    public int IngestBurst { get; set; } = 10_000;

    /// <summary>Failed API-key checks one source (client address) may make in a minute before its checks are refused unchecked for the rest of it.</summary>
    [Range(1, 1_000_000)]
    public int FailedKeyChecksPerSource { get; set; } = 20;

    /// <summary>Failed checks of one key id in a minute after which that key is refused from any source that has itself failed recently.</summary>
    [Range(1, 1_000_000)]
    public int FailedKeyChecksPerKey { get; set; } = 10;
}

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

public sealed class RetentionOptions
{
    /// <summary>Days events are kept; 0 keeps them forever.</summary>
    [Range(0, 36500)]
    public int Days { get; set; } = 90;

    /// <summary>How often the purge runs.</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);
}
