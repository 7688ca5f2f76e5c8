namespace AuditOrleans.Grains;

/// <summary>Settings of the silo host, section <c>AuditOrleans</c> (docs/configuration.md).</summary>
public sealed class AuditOrleansOptions
{
    public const string SectionName = "AuditOrleans";

    public StorageOptions Storage { get; set; } = new();

    public ClusterOptions Cluster { get; set; } = new();

    public SmtpOptions Smtp { get; set; } = new();

    /// <summary>Channels besides email: webhooks (docs/webhooks.md).</summary>
    public NotificationsOptions Notifications { get; set; } = new();

    /// <summary>The alert lifecycle: episodes, lateness, grouping of emails and the cap per contact.</summary>
    public AlertsOptions Alerts { get; set; } = new();

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
