using System.Text;

namespace AuditOrleans;

/// <summary>
/// The link from a fired alert to the console's Audit Trail page, filtered on the firing's
/// project, region and time frame, and narrowed to the events the alert is about: the alert
/// email, the console's history and the module's Get-AuditAlertHistory all use this one.
/// </summary>
public static class AuditTrailLink
{
    public const string Path = "/audit-trail";

    /// <summary>
    /// <c>{baseUrl}/audit-trail?project_id=..&amp;region=..&amp;recorded_after=..&amp;recorded_before=..</c>
    /// plus <c>status_code=403</c> or <c>method_name=..</c>; every value is URL-encoded and the
    /// times are ISO 8601 UTC (both bounds inclusive, as in Get-AuditEvent).
    /// </summary>
    public static string For(string baseUrl, FiredAlert alert)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(alert);
        var query = new List<(string Name, string Value)>
        {
            ("project_id", alert.ProjectId),
            ("region", alert.Region),
            ("recorded_after", AuditEventJson.FormatTime(alert.WindowStart)),
            ("recorded_before", AuditEventJson.FormatTime(alert.WindowEnd)),
        };
        switch (alert.Alert)
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

        var link = new StringBuilder(baseUrl.TrimEnd('/')).Append(Path);
        for (var i = 0; i < query.Count; i++)
        {
            link.Append(i == 0 ? '?' : '&')
                .Append(query[i].Name)
                .Append('=')
                .Append(Uri.EscapeDataString(query[i].Value));
        }

        return link.ToString();
    }
}
