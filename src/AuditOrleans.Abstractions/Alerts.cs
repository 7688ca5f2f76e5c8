namespace AuditOrleans;

/// <summary>The five preconfigured alerts (docs/alerts.md, The five alerts). Names are a public contract.</summary>
public enum AlertName
{
    ApiKeyCreated = 1,
    ApiKeyCreationUnauthorized = 2,
    ApiKeyDeleted = 3,
    ApiKeyDeletionUnauthorized = 4,
    HttpForbiddenErrorRateHigh = 5,

    /// <summary>
    /// A custom alert rule of the project-region (docs/rules.md): its firings and changes carry the
    /// rule in <see cref="AlertFacts.Rule"/>. Not one of the preconfigured alerts (not in
    /// <see cref="AlertCatalog.All"/>); a silence of <c>CustomRule</c> holds the firings of every rule.
    /// </summary>
    CustomRule = 6,
}

/// <summary>Severity of an alert.</summary>
public enum AlertSeverity
{
    Low = 1,
    Medium = 2,
    High = 3,

    /// <summary>The <c>critical</c> severity of custom rules (docs/rules.md).</summary>
    Critical = 4,
}

/// <summary>A preconfigured alert: what it detects, how bad it is and what to do about it.</summary>
public sealed record AlertDefinition(
    AlertName Name,
    string Description,
    AlertSeverity Severity,
    IReadOnlyList<string> RecommendedActions);

/// <summary>The catalogue of preconfigured alerts.</summary>
public static class AlertCatalog
{
    /// <summary>Number of HTTP 403 events that must be exceeded within the window.</summary>
    public const int ForbiddenThreshold = 20;

    /// <summary>Length of the HttpForbiddenErrorRateHigh sliding window.</summary>
    public static readonly TimeSpan ForbiddenWindow = TimeSpan.FromMinutes(5);

    public static IReadOnlyList<AlertDefinition> All { get; } =
    [
        new(AlertName.ApiKeyCreated,
            "An API key was created (iam CreateAPIKey succeeded).",
            AlertSeverity.Medium,
            [
                "Check that the principal who created the key is expected to do so.",
                "If the creation is not expected, delete the key in IAM and review the principal's permissions.",
                "Look for calls made with the new access key since its creation.",
            ]),
        new(AlertName.ApiKeyCreationUnauthorized,
            "An attempt to create an API key was refused (CreateAPIKey returned 401 or 403).",
            AlertSeverity.High,
            [
                "Identify the principal and source IP of the attempt in the audit log.",
                "If the principal is unknown or the source IP unexpected, revoke the principal's credentials now.",
                "Check whether other privileged calls were attempted from the same source IP.",
            ]),
        new(AlertName.ApiKeyDeleted,
            "An API key was deleted (iam DeleteAPIKey succeeded).",
            AlertSeverity.Medium,
            [
                "Check that the deletion was planned: workloads that used the key will now fail.",
                "If it was not planned, review the principal that deleted it and its recent activity.",
            ]),
        new(AlertName.ApiKeyDeletionUnauthorized,
            "An attempt to delete an API key was refused (DeleteAPIKey returned 401 or 403).",
            AlertSeverity.High,
            [
                "Identify the principal and source IP of the attempt in the audit log.",
                "If the attempt is not expected, revoke the principal's credentials and rotate exposed keys.",
                "Check whether other destructive calls were attempted from the same source IP.",
            ]),
        new(AlertName.HttpForbiddenErrorRateHigh,
            "More than 20 HTTP 403 (Forbidden) responses within 5 minutes.",
            AlertSeverity.High,
            [
                "Look at the top principals and source IPs listed in the alert: a single source often means a leaked or misused credential, or permission probing.",
                "If the calls come from an unknown source, revoke the credentials involved and block the source IP.",
                "If they come from your own automation, fix its permissions or its policy; it may be failing silently.",
            ]),
    ];

    /// <summary>What the history and emails say of a custom rule's entries when the rule itself says nothing more.</summary>
    public static AlertDefinition CustomRule { get; } = new(
        AlertName.CustomRule,
        "A custom alert rule matched its number of events within its evaluation window.",
        AlertSeverity.Medium,
        [
            "Read the rule's description and query, and the events it matched in the Audit Trail.",
            "If the activity is not expected, act on the principals and source IPs involved.",
            "If the rule fires on expected activity, narrow its query (a new rule: queries cannot be edited) or run it in dry-run mode.",
        ]);

    public static AlertDefinition Get(AlertName name) => name == AlertName.CustomRule ? CustomRule : All[(int)name - 1];

    /// <summary>The definition of a firing's alert: for a custom rule, its own name, description and severity.</summary>
    public static AlertDefinition Describe(FiredAlert firing)
    {
        ArgumentNullException.ThrowIfNull(firing);
        return firing.Facts.Rule is { } rule
            ? CustomRule with { Description = string.IsNullOrWhiteSpace(rule.Description) ? $"Custom rule {rule.Name}: {rule.Query}" : $"Custom rule {rule.Name}: {rule.Description}", Severity = firing.Severity }
            : Get(firing.Alert);
    }

    /// <summary>The name a firing is shown under: the alert's, or the custom rule's.</summary>
    public static string DisplayName(FiredAlert firing)
    {
        ArgumentNullException.ThrowIfNull(firing);
        return firing.Facts.Rule is { } rule ? rule.Name : firing.Alert.ToString();
    }

    /// <summary>The valid names, for error messages and completion.</summary>
    public static string ValidNames { get; } = string.Join(", ", All.Select(static a => a.Name));

    /// <summary>
    /// What an alert can match in <paramref name="region"/> when that is not the region global
    /// events count in (docs/events.md, Regions; docs/alerts.md, Scope and switching): the
    /// API-key alerts watch IAM, whose events are global and always count in
    /// <see cref="Scope.GlobalRegion"/>. Null when the alert watches the region as it is.
    /// </summary>
    public static string? RegionNote(AlertName alert, string region)
    {
        if (string.Equals(region, Scope.GlobalRegion, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var method = alert is AlertName.ApiKeyCreated or AlertName.ApiKeyCreationUnauthorized ? "CreateAPIKey" : "DeleteAPIKey";
        return alert switch
        {
            AlertName.ApiKeyCreated or AlertName.ApiKeyDeleted =>
                $"{alert} can never fire in {region}: it matches IAM's {method}, and IAM events are global, so they always count in {Scope.GlobalRegion}, whatever their locality. " +
                $"Enable it in {Scope.GlobalRegion} instead (Enable-AuditAlert -Name {alert} -Region {Scope.GlobalRegion}).",
            AlertName.ApiKeyCreationUnauthorized or AlertName.ApiKeyDeletionUnauthorized =>
                $"{alert} in {region} fires only for refused {method} calls of products that are not global (not iam, account or edge-services) and whose locality is in {region}. " +
                $"IAM's own refused {method} calls are global and count in {Scope.GlobalRegion}: to be alerted of them, enable {alert} in {Scope.GlobalRegion} (Enable-AuditAlert -Name {alert} -Region {Scope.GlobalRegion}).",
            _ => null,
        };
    }

    /// <summary>Parses an alert name (case-insensitive); false for anything that is not one of the five or <c>CustomRule</c> (every custom rule, for silences and the history).</summary>
    public static bool TryParse(string? text, out AlertName name)
    {
        name = default;
        if (string.IsNullOrWhiteSpace(text) || text.Trim().All(char.IsDigit))
        {
            return false;
        }

        return Enum.TryParse(text.Trim(), ignoreCase: true, out name) && Enum.IsDefined(name);
    }
}

/// <summary>Which alerts are active in one project-region.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.AlertConfiguration")]
public sealed record AlertConfiguration(
    [property: Id(0)] string ProjectId,
    [property: Id(1)] string Region,
    [property: Id(2)] IReadOnlySet<AlertName> Active,
    [property: Id(3)] long Version,
    [property: Id(4)] DateTimeOffset? UpdatedAt)
{
    /// <summary>The custom alert rules of the project-region, enabled or not (docs/rules.md).</summary>
    [Id(5)] public IReadOnlyList<AlertRule> Rules { get; init; } = [];

    public bool IsActive(AlertName name) => Active.Contains(name);
}
