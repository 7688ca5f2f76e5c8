using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>Lists the custom alert rules of a project (docs/rules.md), per region.</summary>
[Cmdlet(VerbsCommon.Get, "AuditAlertRule")]
[OutputType(typeof(AuditAlertRule))]
public sealed class GetAuditAlertRuleCommand : AuditCmdlet
{
    /// <summary>Rule names (wildcards allowed); all when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(AlertOrRuleNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Regions (or zones); fr-par, nl-ams and pl-waw when omitted.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string[]? Region { get; set; }

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    protected override void EndProcessing()
    {
        var projectId = ResolveProjectId(ProjectId);
        var patterns = (Name ?? ["*"]).Select(static n => WildcardPattern.Get(n.Trim(), WildcardOptions.IgnoreCase)).ToList();
        var found = new HashSet<int>();
        foreach (var region in (Region ?? [.. Scope.DefaultRegions]).Select(Names.NormalizeRegion).Distinct(StringComparer.Ordinal))
        {
            var grain = Grains.GetGrain<IAlertConfigGrain>(Scope.Key(projectId, region));
            if (!TryRead(grain.GetAsync, "GetAuditAlertRuleFailed", region, out var configuration))
            {
                continue;
            }

            foreach (var rule in configuration.Rules.OrderBy(static r => r.Name, StringComparer.OrdinalIgnoreCase))
            {
                var hit = patterns.FindIndex(p => p.IsMatch(rule.Name));
                if (hit >= 0)
                {
                    found.Add(hit);
                    WriteObject(AuditAlertRule.From(rule, projectId, region));
                }
            }
        }

        for (var i = 0; Name is not null && i < Name.Length; i++)
        {
            if (!found.Contains(i) && !WildcardPattern.ContainsWildcardCharacters(Name[i]))
            {
                WriteAuditError($"Project '{projectId}' has no rule named '{Scope.Printable(Name[i])}' in the regions asked.", "UnknownAlertRule", ErrorCategory.ObjectNotFound, Name[i],
                    "Run Get-AuditAlertRule without -Name to list the rules.");
            }
        }
    }
}
