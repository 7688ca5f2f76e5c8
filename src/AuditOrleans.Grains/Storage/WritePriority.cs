namespace AuditOrleans.Grains.Storage;

/// <summary>How urgently a write to the log must be committed (docs/architecture.md, Alerts before bulk writes).</summary>
public enum WritePriority
{
    /// <summary>Events without a firing, delivery states, configuration: committed in arrival order, many per group.</summary>
    Normal,

    /// <summary>
    /// A write on the alert's path: one that records a firing, or the outbox's record of an
    /// attempt (the outbox's next round waits for it). Committed ahead of queued normal writes,
    /// so that alerts go out at once.
    /// </summary>
    Alert,
}
