namespace AuditOrleans.Grains;

public sealed class ConsoleOptions
{
    /// <summary>Base URL of the web console, used in the links of alert emails.</summary>
    public string BaseUrl { get; set; } = "http://localhost:8080";

    /// <summary>A Grafana dashboard's URL (optional): the console's incident timeline links to it on the incident's time range.</summary>
    public string? GrafanaDashboardUrl { get; set; }
}
