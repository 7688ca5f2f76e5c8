namespace AuditOrleans.Silo.WebConsole.Charts;

/// <summary>A shaded time span behind the bars (a firing's window), with its tooltip.</summary>
public sealed record ChartBand(DateTimeOffset From, DateTimeOffset To, string Label);
