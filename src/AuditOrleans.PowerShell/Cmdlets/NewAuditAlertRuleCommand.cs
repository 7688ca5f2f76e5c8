using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Creates a custom alert rule in a project-region (docs/rules.md): a CEL query over the variable
/// event, fired when -Occurrences events match within -EvaluationWindow. The silo compiles and
/// checks the query first; a bad one is refused with its line, column and reason
/// (error id InvalidRuleQuery). The query cannot be changed afterwards.
/// </summary>
[Cmdlet(VerbsCommon.New, "AuditAlertRule", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(AuditAlertRule))]
public sealed class NewAuditAlertRuleCommand : AuditCmdlet
{
    /// <summary>The rule's name: letters, digits, '-', '_' or '.'; unique in the project-region.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The CEL query, e.g. event.kind == 'authentication' &amp;&amp; event.result == 'failure'.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Query { get; set; } = "";

    /// <summary>How far back matches count (1 s to 24 h), e.g. 00:05:00 or (New-TimeSpan -Minutes 5).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public TimeSpan EvaluationWindow { get; set; }

    /// <summary>How many matches within the window make the rule fire (1 to 10000).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, RuleLimits.MaxOccurrences)]
    public int Occurrences { get; set; }

    /// <summary>Info, Warning, Error or Critical.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public RuleSeverity Severity { get; set; }

    /// <summary>Region (or zone); default fr-par, where organization-level events (sign-ins, IAM) count.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string Region { get; set; } = Scope.GlobalRegion;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Description { get; set; }

    /// <summary>Firings go to the alert history only; nobody is emailed.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter DryRun { get; set; }

    /// <summary>Create the rule disabled (Enable-AuditAlert -Name enables it).</summary>
    [Parameter]
    public SwitchParameter Disabled { get; set; }

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    protected override void ProcessRecord()
    {
        var scope = RuleScope.For(ResolveProjectId(ProjectId), Region);
        if (!ShouldProcess($"{scope.Describe(Name)}: {Occurrences} x ({Query}) within {EvaluationWindow}", "Create"))
        {
            return;
        }

        var draft = new AlertRuleDraft
        {
            Name = Name,
            Description = Description,
            Query = Query,
            EvaluationWindow = EvaluationWindow,
            Occurrences = Occurrences,
            Severity = Severity,
            DryRun = DryRun,
            Enabled = !Disabled,
        };
        var grain = scope.Grain(Grains);
        if (TryCall(() => grain.CreateRuleAsync(draft), "NewAuditAlertRuleFailed", Name, out var rule))
        {
            WriteObject(AuditAlertRule.From(rule, scope.ProjectId, scope.Region));
        }
    }
}
