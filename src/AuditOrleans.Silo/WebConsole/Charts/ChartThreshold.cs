namespace AuditOrleans.Silo.WebConsole.Charts;

/// <summary>A horizontal line at a value (an alert's threshold).</summary>
public sealed record ChartThreshold(double Value, string Label);
