namespace AuditOrleans.Silo.WebConsole.Charts;

/// <summary>A lane of a timeline: a label (a principal, a source IP, "API keys") and its points.</summary>
public sealed record ChartLane(string Label, IReadOnlyList<ChartPoint> Points);
