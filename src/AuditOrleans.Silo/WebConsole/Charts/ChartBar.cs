namespace AuditOrleans.Silo.WebConsole.Charts;

/// <summary>One bar: the bucket [<see cref="Start"/>, <see cref="End"/>), its value, the part drawn in the alert colour, its tooltip.</summary>
public sealed record ChartBar(DateTimeOffset Start, DateTimeOffset End, double Value, double? Highlight, string Tooltip);
