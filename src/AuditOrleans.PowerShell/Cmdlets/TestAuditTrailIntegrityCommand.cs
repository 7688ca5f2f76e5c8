using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Verifies the hash chain of a project's events in each region: every event's hash must match
/// its content and link to the previous event. Reports the first broken event. With
/// -Checkpoint, the chain must also still hold, at each checkpoint's position, the hash the
/// checkpoint recorded (checkpoints kept outside the database reveal a rewritten log). A chain
/// cut by retention starts from a retention anchor: the anchor must be signed with the
/// installation's checkpoint key and fit Retention:Days, else the report names it.
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
    [Parameter]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>
    /// Checkpoints kept earlier (Get-AuditTrailCheckpoint output, or Import-Csv/ConvertFrom-Json
    /// of it). Without -Region, the regions of the checkpoints are verified.
    /// </summary>
    [Parameter(ValueFromPipeline = true)]
    [ValidateNotNull]
    public object[]? Checkpoint { get; set; }

    private readonly List<ChainCheckpoint> kept = [];

    protected override void ProcessRecord()
    {
        foreach (var input in Checkpoint ?? [])
        {
            try
            {
                kept.Add(AuditTrailCheckpoint.Read(input));
            }
            catch (FormatException ex)
            {
                ThrowTerminatingError(AuditErrors.Create(ex.Message, "InvalidCheckpoint", ErrorCategory.InvalidData, input,
                    "Pass the checkpoints as Get-AuditTrailCheckpoint wrote them (all of ProjectId, Region, Sequence, Hash, Signature)."));
            }
        }
    }

    protected override void EndProcessing()
    {
        var projectId = ResolveProjectId(ProjectId);
        if (kept.FirstOrDefault(c => !string.Equals(c.ProjectId, projectId, StringComparison.Ordinal)) is { } foreign)
        {
            ThrowTerminatingError(AuditErrors.Create(
                $"A checkpoint belongs to project '{Scope.Printable(foreign.ProjectId)}', not to '{projectId}'.",
                "CheckpointOfAnotherProject",
                ErrorCategory.InvalidArgument,
                foreign.ProjectId,
                "Give -ProjectId the project of the checkpoints, or pass only that project's checkpoints."));
        }

        var regions = Region is not null ? Region.Select(Names.NormalizeRegion)
            : kept.Count > 0 ? kept.Select(static c => c.Region)
            : Scope.DefaultRegions;
        var grain = Grains.GetGrain<IAuditLogGrain>(0);
        foreach (var region in regions.Distinct(StringComparer.Ordinal))
        {
            var trusted = kept.Where(c => c.Region == region).ToList();
            var verify = trusted.Count == 0 ? (Func<Task<IntegrityReport>>)(() => grain.VerifyAsync(projectId, region)) : () => grain.VerifyAgainstAsync(projectId, region, trusted);
            if (!TryRead(verify, "TestAuditTrailIntegrityFailed", region, out var report))
            {
                continue;
            }

            if (!report.IsValid)
            {
                var at = report.FirstBrokenEventId is null
                    ? $"position {report.FirstBrokenSequence}"
                    : $"event {report.FirstBrokenSequence} (id '{Scope.Printable(report.FirstBrokenEventId)}')";
                WriteWarning($"The audit trail of project '{projectId}' in {region} is broken at {at}: {report.Reason}");
            }

            WriteObject(AuditTrailIntegrityResult.From(report));
        }
    }
}
