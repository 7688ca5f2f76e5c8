using System.ComponentModel.DataAnnotations;

namespace AuditOrleans.Grains;

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
