namespace AuditOrleans.Silo.WebConsole.Charts;

/// <summary>What a point of a lane is; keys are drawn as diamonds.</summary>
public enum ChartPointKind
{
    Event,
    Key,
}
