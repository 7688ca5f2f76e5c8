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
            if (!ShouldProcess($"Silence {id} of project '{projectId}'", "End now (the alerts it holds are emailed again)"))
            {
                continue;
            }

            AlertSilence? silence;
            try
            {
                silence = Await(grain.EndAsync(id, Comment));
            }
            catch (InvalidOperationException ex)
            {
                // Already ended or expired: nothing to do, and nothing wrong.
                WriteWarning(ex.Message);
                continue;
            }
            catch (Exception ex) when (ex is not PipelineStoppedException and not PipelineClosedException)
            {
                var record = ErrorFor(ex, "StopAuditAlertSilenceFailed", id);
                if (record.FullyQualifiedErrorId.StartsWith(AuditErrors.ClusterUnreachable, StringComparison.Ordinal))
                {
                    ThrowTerminatingError(record);
                }

                WriteError(record);
                continue;
            }

            if (silence is null)
            {
                WriteAuditError($"Project '{projectId}' has no silence '{Scope.Printable(id)}'.", "SilenceNotFound", ErrorCategory.ObjectNotFound, id,
                    "Run Get-AuditAlertSilence -IncludeEnded to list the project's silences.");
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
