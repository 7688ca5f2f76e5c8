namespace AuditOrleans.Grains.AuditLog;

/// <summary>A firing decided by the detector, recorded in the same transaction as the events that caused it.</summary>
/// <param name="Alert">The firing; for HttpForbiddenErrorRateHigh its count, top principals and source IPs are filled in from the log.</param>
/// <param name="AtSequence">The sequence of the event that made the condition true.</param>
public sealed record PendingFiring(FiredAlert Alert, long AtSequence);
