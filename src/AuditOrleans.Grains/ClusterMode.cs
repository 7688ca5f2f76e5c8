using System.ComponentModel.DataAnnotations;

namespace AuditOrleans.Grains;

public enum ClusterMode
{
    Localhost,
    AdoNet,
}
