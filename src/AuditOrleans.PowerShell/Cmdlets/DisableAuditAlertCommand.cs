using System.Management.Automation;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>Switches alerts off in a project-region (all the named alerts in one atomic change).</summary>
[Cmdlet(VerbsLifecycle.Disable, "AuditAlert", SupportsShouldProcess = true)]
[OutputType(typeof(AuditAlert), typeof(AuditAlertRule))]
public sealed class DisableAuditAlertCommand : SetAuditAlertStateCommand
{
    protected override bool Activate => false;
}
