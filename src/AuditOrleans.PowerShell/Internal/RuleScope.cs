namespace AuditOrleans.PowerShell.Internal;

/// <summary>
/// The project-region whose alert configuration holds a custom rule (Set-, Remove-, Test- and
/// New-AuditAlertRule): the project checked, the region normalized, and the configuration's grain.
/// </summary>
internal sealed record RuleScope(string ProjectId, string Region)
{
    /// <summary>The scope of <paramref name="region"/> (a region or zone name) in the resolved project.</summary>
    internal static RuleScope For(string projectId, string region) => new(projectId, Names.NormalizeRegion(region));

    /// <summary>The grain of this project-region's alert configuration.</summary>
    internal IAlertConfigGrain Grain(IGrainFactory grains) => grains.GetGrain<IAlertConfigGrain>(Scope.Key(ProjectId, Region));

    /// <summary>How a confirmation names the rule: "Rule NAME in project 'P', region 'R'".</summary>
    internal string Describe(string rule) => $"Rule {rule} in project '{ProjectId}', region '{Region}'";
}
