using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Lists the signed checkpoints (chain heads) the silo published for a project's log, newest
/// first, so that they can be kept outside the database and checked later with
/// Test-AuditTrailIntegrity -Checkpoint.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AuditTrailCheckpoint")]
[OutputType(typeof(AuditTrailCheckpoint))]
public sealed class GetAuditTrailCheckpointCommand : AuditCmdlet
{
    /// <summary>Regions (or zones); fr-par, nl-ams and pl-waw when omitted.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string[]? Region { get; set; }

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>How many of the newest checkpoints per region.</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int First { get; set; } = 10;

    protected override void ProcessRecord()
    {
        var projectId = ResolveProjectId(ProjectId);
        var grain = Grains.GetGrain<IAuditLogGrain>(0);
        foreach (var region in (Region ?? [.. Scope.DefaultRegions]).Select(Names.NormalizeRegion).Distinct(StringComparer.Ordinal))
        {
            if (TryRead(() => grain.GetCheckpointsAsync(projectId, region, First), "GetAuditTrailCheckpointFailed", region, out var checkpoints))
            {
                foreach (var checkpoint in checkpoints)
                {
                    WriteObject(AuditTrailCheckpoint.From(checkpoint));
                }
            }
        }
    }
}
