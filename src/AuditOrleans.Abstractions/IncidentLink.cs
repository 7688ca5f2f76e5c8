namespace AuditOrleans;

/// <summary>
/// The link from a fired alert to the console's incident timeline of it (README.md, Web console): the
/// email, the console's history and overview, the Grafana annotations and the module's
/// Get-AuditAlertHistory all use this one, so that "one click from any firing" is the same URL.
/// </summary>
public static class IncidentLink
{
    public const string Path = "/incident";

    /// <summary><c>{baseUrl}/incident?project_id=..&amp;firing=..</c>, every value URL-encoded.</summary>
    public static string For(string baseUrl, FiredAlert alert)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(alert);
        return $"{baseUrl.TrimEnd('/')}{Path}?project_id={Uri.EscapeDataString(alert.ProjectId)}&firing={Uri.EscapeDataString(alert.Id)}";
    }
}
