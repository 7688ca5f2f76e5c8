namespace AuditOrleans.Grains.AuditLog;

/// <summary>A validated event ready to be appended at a position of the chain.</summary>
public sealed record NewRecord(AuditEvent Event, long Sequence, string Payload, string PreviousHash, string Hash, DateTimeOffset IngestedAt);
