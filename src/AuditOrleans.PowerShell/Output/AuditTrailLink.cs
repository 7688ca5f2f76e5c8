using System.Globalization;

namespace AuditOrleans.PowerShell;

/// <summary>
/// The console link of a fired alert: the audit log filtered on the project, the region and the
/// timeframe of the firing, narrowed to 403s or to the API key method where that helps (SPEC 5).
/// </summary>
internal static class AuditTrailLink
{
    public static string For(string consoleUrl, FiredAlert fired)
    {
        var query = new List<(string, string)>
        {
            ("project_id", fired.ProjectId),
            ("region", fired.Region),
            ("recorded_after", AuditEventJson.FormatTime(fired.WindowStart)),
            ("recorded_before", AuditEventJson.FormatTime(fired.WindowEnd)),
        };
        switch (fired.Alert)
        {
            case AlertName.HttpForbiddenErrorRateHigh:
                query.Add(("status_code", "403"));
                break;
            case AlertName.ApiKeyCreated or AlertName.ApiKeyCreationUnauthorized:
                query.Add(("method_name", "CreateAPIKey"));
                break;
            case AlertName.ApiKeyDeleted or AlertName.ApiKeyDeletionUnauthorized:
                query.Add(("method_name", "DeleteAPIKey"));
                break;
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"{consoleUrl.TrimEnd('/')}/audit-trail?{string.Join('&', query.Select(static p => $"{p.Item1}={Uri.EscapeDataString(p.Item2)}"))}");
    }
}
