namespace AuditOrleans.PowerShell;

/// <summary>One preconfigured alert in one project-region, as Get-AuditAlert shows it.</summary>
public sealed class AuditAlert
{
    public required string Name { get; init; }

    public required string Description { get; init; }

    public required AlertSeverity Severity { get; init; }

    public required string ProjectId { get; init; }

    public required string Region { get; init; }

    public required bool Active { get; init; }

    public required string[] RecommendedActions { get; init; }

    /// <summary>When the project-region's alert configuration last changed (null: never).</summary>
    public DateTimeOffset? UpdatedAt { get; init; }

    internal static IEnumerable<AuditAlert> From(AlertConfiguration configuration, IEnumerable<AlertDefinition> alerts) =>
        alerts.Select(a => new AuditAlert
        {
            Name = a.Name.ToString(),
            Description = a.Description,
            Severity = a.Severity,
            ProjectId = configuration.ProjectId,
            Region = configuration.Region,
            Active = configuration.IsActive(a.Name),
            RecommendedActions = [.. a.RecommendedActions],
            UpdatedAt = configuration.UpdatedAt,
        });
}
