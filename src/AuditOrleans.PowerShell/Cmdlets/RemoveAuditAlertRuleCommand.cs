using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>Removes a custom alert rule; its firings and changes stay in the alert history.</summary>
[Cmdlet(VerbsCommon.Remove, "AuditAlertRule", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemoveAuditAlertRuleCommand : AuditCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(AlertOrRuleNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string Region { get; set; } = Scope.GlobalRegion;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Removes without asking.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var scope = RuleScope.For(ResolveProjectId(ProjectId), Region);
        var whatIf = MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter { IsPresent: true };
        if (!(Force && !whatIf) && !ShouldProcess($"{scope.Describe(Name)} (it stops firing; its history stays)", "Remove"))
        {
            return;
        }

        var grain = scope.Grain(Grains);
        if (TryCall(() => grain.RemoveRuleAsync(Name), "RemoveAuditAlertRuleFailed", Name, out var removed) && !removed)
        {
            WriteAuditError($"Project '{scope.ProjectId}' has no rule named '{Scope.Printable(Name)}' in {scope.Region}.", "UnknownAlertRule", ErrorCategory.ObjectNotFound, Name,
                "Run Get-AuditAlertRule to list the rules and their regions.");
        }
    }
}
