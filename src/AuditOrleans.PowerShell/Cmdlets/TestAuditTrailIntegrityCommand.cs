using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Verifies the hash chain of a project's events in each region: every event's hash must match
/// its content and link to the previous event. Reports the first broken event.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "AuditTrailIntegrity")]
[OutputType(typeof(AuditTrailIntegrityResult))]
public sealed class TestAuditTrailIntegrityCommand : AuditCmdlet
{
    /// <summary>Regions (or zones) to verify; fr-par, nl-ams and pl-waw when omitted.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string[]? Region { get; set; }

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ProjectId { get; set; }

    protected override void ProcessRecord()
    {
        var projectId = ResolveProjectId(ProjectId);
        var grain = Grains.GetGrain<IAuditLogGrain>(0);
        foreach (var region in (Region ?? [.. Scope.DefaultRegions]).Select(Names.NormalizeRegion).Distinct(StringComparer.Ordinal))
        {
            if (!TryCall(() => grain.VerifyAsync(projectId, region), "TestAuditTrailIntegrityFailed", region, out var report))
            {
                continue;
            }

            if (!report.IsValid)
            {
                WriteWarning($"The audit trail of project '{projectId}' in {region} is broken at event {report.FirstBrokenSequence} (id '{report.FirstBrokenEventId}'): {report.Reason}");
            }

            WriteObject(AuditTrailIntegrityResult.From(report));
        }
    }
}
