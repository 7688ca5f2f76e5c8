namespace AuditOrleans.Grains.Detection;

/// <summary>The single-event API-key alerts (docs/alerts.md, The five alerts).</summary>
public static class ApiKeyRules
{
    private const string CreateMethod = "CreateAPIKey";
    private const string DeleteMethod = "DeleteAPIKey";

    /// <summary>The alert one event matches, if any.</summary>
    public static AlertName? Match(AuditEvent e)
    {
        var status = e.StatusCode ?? 0;
        var success = status is >= 200 and <= 299;
        var refused = status is 401 or 403;
        var iam = string.Equals(e.ProductName, "iam", StringComparison.OrdinalIgnoreCase);
        if (string.Equals(e.MethodName, CreateMethod, StringComparison.OrdinalIgnoreCase))
        {
            return refused ? AlertName.ApiKeyCreationUnauthorized : success && iam ? AlertName.ApiKeyCreated : null;
        }

        if (string.Equals(e.MethodName, DeleteMethod, StringComparison.OrdinalIgnoreCase))
        {
            return refused ? AlertName.ApiKeyDeletionUnauthorized : success && iam ? AlertName.ApiKeyDeleted : null;
        }

        return null;
    }

    /// <summary>The access key the event is about: the id of its iam_api_key resource, if any.</summary>
    public static string? ApiKeyId(AuditEvent e) =>
        e.Resources?.FirstOrDefault(static r => string.Equals(r.Type, "iam_api_key", StringComparison.OrdinalIgnoreCase))?.Id;
}
