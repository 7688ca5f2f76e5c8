namespace AuditOrleans.Grains.Storage;

/// <summary>How urgently a write to the log must be committed (docs/architecture.md, Alerts before bulk writes).</summary>
public enum WritePriority
{
    /// <summary>Events without a firing, delivery states, configuration: committed in arrival order, many per group.</summary>
    Normal,

    /// <summary>A write that records a firing: committed ahead of queued normal writes, so that its alert goes out at once.</summary>
    Alert,
}
