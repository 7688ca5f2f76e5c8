using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>Removes notification contacts from a project. Asks for confirmation unless -Force.</summary>
[Cmdlet(VerbsCommon.Remove, "AuditNotificationContact", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveAuditNotificationContactCommand : AuditCmdlet
{
    /// <summary>Email addresses to remove.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ContactEmailCompleter))]
    public string[] Email { get; set; } = [];

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Removes without asking for confirmation (-WhatIf still only shows what would happen).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var projectId = ResolveProjectId(ProjectId);
        var grain = Grains.GetGrain<INotificationContactsGrain>(projectId);
        var whatIf = MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter { IsPresent: true };
        foreach (var email in Email)
        {
            var target = $"{email} in project '{projectId}'";
            if (!(Force && !whatIf) && !ShouldProcess(target, "Remove notification contact"))
            {
                continue;
            }

            if (!TryCall(() => grain.RemoveAsync(email), "RemoveNotificationContactFailed", email, out var removed))
            {
                continue;
            }

            if (!removed)
            {
                WriteAuditError($"Project '{projectId}' has no notification contact '{Scope.Printable(email)}'.", "NotificationContactNotFound",
                    ErrorCategory.ObjectNotFound, email, "Run Get-AuditNotificationContact to list the project's contacts.");
            }
            else
            {
                WriteVerbose($"Removed {target}.");
            }
        }
    }
}
