using System.Management.Automation;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>Switches alerts on in a project-region (all the named alerts in one atomic change).</summary>
[Cmdlet(VerbsLifecycle.Enable, "AuditAlert", SupportsShouldProcess = true)]
[OutputType(typeof(AuditAlert), typeof(AuditAlertRule))]
public sealed class EnableAuditAlertCommand : SetAuditAlertStateCommand
{
    protected override bool Activate => true;
}
