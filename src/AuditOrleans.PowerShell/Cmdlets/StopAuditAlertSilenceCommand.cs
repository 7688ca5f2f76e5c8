using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Ends silences now: the alerts they held are emailed again from the next firing on. The
/// silence stays listed as Ended, with the API key that ended it and the comment.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "AuditAlertSilence", SupportsShouldProcess = true)]
[OutputType(typeof(AuditAlertSilence))]
public sealed class StopAuditAlertSilenceCommand : AuditCmdlet
{
    /// <summary>Ids of the silences to end.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SilenceIdCompleter))]
    public string[] Id { get; set; } = [];

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Why it ends early: kept with the silence.</summary>
    [Parameter]
    [ValidateLength(1, SilenceLimits.MaxCommentLength)]
    public string? Comment { get; set; }

    /// <summary>Returns the ended silences.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var projectId = ResolveProjectId(ProjectId);
        var grain = Grains.GetGrain<IAlertSilenceGrain>(projectId);
        foreach (var id in Id)
        {
            if (!TryRead(() => grain.ListAsync(includeEnded: true), "StopAuditAlertSilenceFailed", id, out var silences))
            {
                continue;
            }

            var current = silences.FirstOrDefault(s => string.Equals(s.Id, id.Trim(), StringComparison.OrdinalIgnoreCase));
            if (current is null)
            {
                WriteAuditError($"Project '{projectId}' has no silence '{Scope.Printable(id)}'.", "SilenceNotFound", ErrorCategory.ObjectNotFound, id,
                    "Run Get-AuditAlertSilence -IncludeEnded to list the project's silences.");
                continue;
            }

            if (current.State is SilenceState.Ended or SilenceState.Expired)
            {
                WriteWarning($"Silence {current.Id} had already {(current.State == SilenceState.Expired ? "expired" : "ended")}: nothing changed.");
                if (PassThru)
                {
                    WriteObject(AuditAlertSilence.From(current));
                }

                continue;
            }

            if (!ShouldProcess($"Silence {current.Id} of project '{projectId}' ({string.Join(", ", current.Alerts)}: {current.Reason})", "End now (the alerts it holds are emailed again)"))
            {
                continue;
            }

            if (!TryCall(() => grain.EndAsync(current.Id, Comment), "StopAuditAlertSilenceFailed", id, out var silence) || silence is null)
            {
                continue;
            }

            WriteVerbose($"Silence {silence.Id} ended; it held {silence.HeldFirings} firing(s).");
            if (PassThru)
            {
                WriteObject(AuditAlertSilence.From(silence));
            }
        }
    }
}
