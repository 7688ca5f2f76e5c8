namespace AuditOrleans.Grains;

public enum ClusterMode
{
    Localhost,
    AdoNet,
}
