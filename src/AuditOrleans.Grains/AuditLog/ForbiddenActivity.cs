namespace AuditOrleans.Grains.AuditLog;

/// <summary>The 403 events of a project-region after a log position: how many, and the most frequent principals and source IPs.</summary>
public sealed record ForbiddenActivity(long Count, IReadOnlyList<CountedValue> Principals, IReadOnlyList<CountedValue> SourceIps);
