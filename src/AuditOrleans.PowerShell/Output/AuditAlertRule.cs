namespace AuditOrleans.PowerShell;

/// <summary>A custom alert rule of a project-region, as Get-AuditAlertRule returns it (docs/rules.md).</summary>
public sealed class AuditAlertRule
{
    public required string Name { get; init; }

    public required string ProjectId { get; init; }

    public required string Region { get; init; }

    public string Description { get; init; } = "";

    /// <summary>The CEL query over the variable event.</summary>
    public required string Query { get; init; }

    public TimeSpan EvaluationWindow { get; init; }

    public int Occurrences { get; init; }

    public RuleSeverity Severity { get; init; }

    /// <summary>Enabled (evaluated) or disabled; Enable-/Disable-AuditAlert -Name switch it.</summary>
    public bool Enabled { get; init; }

    /// <summary>Firings go to the alert history only: nobody is emailed.</summary>
    public bool DryRun { get; init; }

    public required string Id { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public string? CreatedBy { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public string? UpdatedBy { get; init; }

    internal static AuditAlertRule From(AlertRule rule, string projectId, string region) => new()
    {
        Name = rule.Name,
        ProjectId = projectId,
        Region = region,
        Description = rule.Description,
        Query = rule.Query,
        EvaluationWindow = rule.EvaluationWindow,
        Occurrences = rule.Occurrences,
        Severity = rule.Severity,
        Enabled = rule.Enabled,
        DryRun = rule.DryRun,
        Id = rule.Id,
        CreatedAt = rule.CreatedAt,
        CreatedBy = rule.CreatedBy,
        UpdatedAt = rule.UpdatedAt,
        UpdatedBy = rule.UpdatedBy,
    };

    public override string ToString() => Name;
}
