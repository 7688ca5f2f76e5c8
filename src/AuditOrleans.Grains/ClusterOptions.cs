namespace AuditOrleans.Grains;

public sealed class ClusterOptions
{
    public ClusterMode Mode { get; set; } = ClusterMode.Localhost;
    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;
    public string ClusterId { get; set; } = "auditorleans";
    public string ServiceId { get; set; } = "auditorleans";

    /// <summary>Address advertised to other silos and clients; default: loopback in Localhost mode, the host's address otherwise.</summary>
    public string? AdvertisedIPAddress { get; set; }
}
