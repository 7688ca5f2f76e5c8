using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Renames a custom alert rule or changes its description. As with the provider, the query,
/// window, occurrences and severity cannot change: create a new rule and remove the old one.
/// </summary>
[Cmdlet(VerbsCommon.Set, "AuditAlertRule", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(AuditAlertRule))]
public sealed class SetAuditAlertRuleCommand : AuditCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(AlertOrRuleNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The rule's new name.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NewName { get; set; }

    /// <summary>The rule's new description ('' clears it).</summary>
    [Parameter]
    public string? Description { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string Region { get; set; } = Scope.GlobalRegion;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Returns the rule after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (NewName is null && Description is null)
        {
            WriteAuditError("Nothing to change: give -NewName or -Description (a rule's query cannot change: create a new rule).", "NothingToChange", ErrorCategory.InvalidArgument, Name);
            return;
        }

        var scope = RuleScope.For(ResolveProjectId(ProjectId), Region);
        if (!ShouldProcess(scope.Describe(Name), NewName is null ? "Change description" : $"Rename to {NewName}"))
        {
            return;
        }

        var grain = scope.Grain(Grains);
        if (TryCall(() => grain.UpdateRuleAsync(Name, NewName, Description), "SetAuditAlertRuleFailed", Name, out var rule) && PassThru)
        {
            WriteObject(AuditAlertRule.From(rule, scope.ProjectId, scope.Region));
        }
    }
}
