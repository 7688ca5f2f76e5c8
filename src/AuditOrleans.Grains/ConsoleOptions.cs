namespace AuditOrleans.Grains;

public sealed class ConsoleOptions
{
    /// <summary>Base URL of the web console, used in the links of alert emails.</summary>
    public string BaseUrl { get; set; } = "http://localhost:8080";
}
