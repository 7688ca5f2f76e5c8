namespace AuditOrleans.Silo.WebConsole.Charts;

/// <summary>A vertical mark at a time (a firing), with its tooltip and an optional link.</summary>
public sealed record ChartMark(DateTimeOffset At, string Tooltip, string? Href);
