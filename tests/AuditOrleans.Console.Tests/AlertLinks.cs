namespace AuditOrleans.Console.Tests;

/// <summary>The alert email's link as SPEC section 5 writes it, from a recorded firing.</summary>
public static class AlertLinks
{
    public static string For(string baseUrl, FiredAlert alert)
    {
        var query = new List<string>
        {
            "project_id=" + Uri.EscapeDataString(alert.ProjectId),
            "region=" + Uri.EscapeDataString(alert.Region),
            "recorded_after=" + Uri.EscapeDataString(AuditEventJson.FormatTime(alert.WindowStart)),
            "recorded_before=" + Uri.EscapeDataString(AuditEventJson.FormatTime(alert.WindowEnd)),
            alert.Alert == AlertName.HttpForbiddenErrorRateHigh ? "status_code=403" : "method_name=" + Uri.EscapeDataString(alert.Facts.MethodName!),
        };
        return $"{baseUrl.TrimEnd('/')}/audit-trail?{string.Join('&', query)}";
    }
}
