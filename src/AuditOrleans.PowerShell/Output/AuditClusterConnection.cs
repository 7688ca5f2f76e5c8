namespace AuditOrleans.PowerShell;

/// <summary>The session's connection, as Connect-AuditCluster -PassThru shows it (the API key itself is never shown).</summary>
public sealed class AuditClusterConnection
{
    public required string[] Gateways { get; init; }

    public required string ClusterId { get; init; }

    public required string ServiceId { get; init; }

    /// <summary>Project used by the cmdlets when -ProjectId is not given.</summary>
    public required string ProjectId { get; init; }

    /// <summary>True when an API key is sent with every call.</summary>
    public required bool UsesApiKey { get; init; }

    /// <summary>True when the connection to the gateways is encrypted (TLS).</summary>
    public bool UsesTls { get; init; }

    public required string ConsoleUrl { get; init; }

    public required DateTimeOffset ConnectedAt { get; init; }
}
