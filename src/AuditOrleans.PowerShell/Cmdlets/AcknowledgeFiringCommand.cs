using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>Shared by Confirm-AuditAlertFiring and Close-AuditAlertFiring: firing ids from the command line or from Get-AuditAlertHistory.</summary>
public abstract class AcknowledgeFiringCommand : AuditCmdlet
{
    /// <summary>Ids of the firings (Get-AuditAlertHistory output binds by property name).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(FiringIdCompleter))]
    public string[] Id { get; set; } = [];

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Returns the firings after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected abstract FiringAction Action { get; }

    protected abstract string? Text { get; }

    protected override void ProcessRecord()
    {
        var projectId = ResolveProjectId(ProjectId);
        var grain = Grains.GetGrain<IAlertAcknowledgementGrain>(projectId);
        var (verb, errorId) = Action == FiringAction.Taken ? ("Take", "ConfirmAuditAlertFiringFailed") : ("Close", "CloseAuditAlertFiringFailed");
        foreach (var id in Id)
        {
            if (!ShouldProcess($"Firing {id} of project '{projectId}'", Text is null ? verb : $"{verb} with comment '{Text}'"))
            {
                continue;
            }

            var comment = Text;
            if (!TryCall(() => Action == FiringAction.Taken ? grain.TakeAsync(id, comment) : grain.CloseAsync(id, comment!), errorId, id, out var firing))
            {
                continue;
            }

            if (firing is null)
            {
                WriteAuditError($"Project '{projectId}' has no firing '{Scope.Printable(id)}'.", "FiringNotFound", ErrorCategory.ObjectNotFound, id,
                    "Run Get-AuditAlertHistory to list the project's firings and their ids.");
                continue;
            }

            WriteVerbose($"Firing {firing.Id} ({firing.Alert}) {(Action == FiringAction.Taken ? "taken" : "closed")}.");
            if (PassThru)
            {
                WriteObject(AuditAlertFiring.From(firing, Connection.Settings.ConsoleUrl));
            }
        }
    }
}
