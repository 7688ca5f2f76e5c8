namespace AuditOrleans.Silo.WebConsole.Charts;

/// <summary>A point of a lane: when, its CSS class (s2, s4, s5...), its tooltip and link.</summary>
public sealed record ChartPoint(DateTimeOffset At, ChartPointKind Kind, string Css, string Tooltip, string? Href);
