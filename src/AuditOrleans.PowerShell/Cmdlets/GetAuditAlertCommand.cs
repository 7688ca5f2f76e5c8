using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>Lists the preconfigured alerts of a project, one object per alert and region, with whether each is active.</summary>
[Cmdlet(VerbsCommon.Get, "AuditAlert")]
[OutputType(typeof(AuditAlert))]
public sealed class GetAuditAlertCommand : AuditCmdlet
{
    /// <summary>Alert names (wildcards allowed); all five when omitted.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(AlertNameCompleter))]
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
        var alerts = Names.MatchAlerts(Name, unknown => WriteAuditError(
            Names.DescribeUnknownAlert(unknown), "UnknownAlertName", ErrorCategory.InvalidArgument, unknown,
            "Use one of the names above, or run Get-AuditAlert without -Name to list them."));
        if (alerts.Count == 0)
        {
            return;
        }

        var regions = (Region ?? [.. Scope.DefaultRegions]).Select(Names.NormalizeRegion).Distinct(StringComparer.Ordinal);
        foreach (var region in regions)
        {
            var grain = Grains.GetGrain<IAlertConfigGrain>(Scope.Key(projectId, region));
            if (TryRead(grain.GetAsync, "GetAlertConfigurationFailed", region, out var configuration))
            {
                WriteObject(AuditAlert.From(configuration, alerts), enumerateCollection: true);
            }
        }
    }
}
