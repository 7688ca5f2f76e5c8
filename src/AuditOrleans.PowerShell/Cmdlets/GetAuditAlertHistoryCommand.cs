using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Lists the alerts that fired in a project, newest first: when, what behaviour, how severe,
/// to whom they were sent, whether delivery succeeded (alone or in a digest), whether a silence
/// held them, who took and closed them, and the link to the audit log.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AuditAlertHistory")]
[OutputType(typeof(AuditAlertFiring))]
public sealed class GetAuditAlertHistoryCommand : AuditCmdlet
{
    /// <summary>Only this alert, CustomRule (every custom rule), or one custom rule by name.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(AlertOrRuleNameCompleter))]
    public string? Name { get; set; }

    /// <summary>Only this region (or zone).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string? Region { get; set; }

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Only alerts triggered at or after this time. A time without zone is UTC.</summary>
    [Parameter]
    [TimeArgument]
    public DateTime? After { get; set; }

    /// <summary>Only this firing.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(FiringIdCompleter))]
    public string? Id { get; set; }

    /// <summary>Only the firings this silence held.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SilenceIdCompleter))]
    public string? SilenceId { get; set; }

    /// <summary>At most this many firings (newest first).</summary>
    [Parameter]
    [ValidateRange(1, QueryLimits.MaxAlertHistory)]
    public int First { get; set; } = 100;

    protected override void EndProcessing()
    {
        AlertName? alert = null;
        string? rule = null;
        if (Name is not null)
        {
            if (AlertCatalog.TryParse(Name, out var parsed))
            {
                alert = parsed;
            }
            else if (Name.Trim() is var name && RuleLimits.IsValidName(name))
            {
                // A custom rule's name (docs/rules.md): its entries among the CustomRule ones.
                alert = AlertName.CustomRule;
                rule = name;
            }
            else
            {
                ThrowAuditError(Names.DescribeUnknownAlert(Name) + " Nor can it be a custom rule's name.", "UnknownAlertName", ErrorCategory.InvalidArgument, Name);
            }
        }

        var query = new AlertHistoryQuery
        {
            ProjectId = ResolveProjectId(ProjectId),
            Region = Region is null ? null : Names.NormalizeRegion(Region),
            Alert = alert,
            TriggeredAfter = TimeArguments.ToUtc(After),
            Limit = rule is null ? First : QueryLimits.MaxAlertHistory,
            FiringId = Id?.Trim().ToLowerInvariant(),
            SilenceId = SilenceId?.Trim().ToLowerInvariant(),
        };
        var grain = Grains.GetGrain<IAuditLogGrain>(0);
        if (TryRead(() => grain.GetAlertHistoryAsync(query), "GetAuditAlertHistoryFailed", query, out var history))
        {
            var consoleUrl = Connection.Settings.ConsoleUrl;
            var shown = history.Where(f => rule is null || string.Equals(f.Facts.Rule?.Name, rule, StringComparison.OrdinalIgnoreCase)).Take(First).ToList();
            if (rule is not null && shown.Count == 0)
            {
                WriteAuditError($"{Names.DescribeUnknownAlert(rule)} Nor is it a custom rule with entries in the history of project '{query.ProjectId}'.",
                    "UnknownAlertName", ErrorCategory.InvalidArgument, rule, "Use one of the names above, CustomRule for every custom rule, or Get-AuditAlertRule to list the rules.");
            }

            foreach (var fired in shown)
            {
                WriteObject(AuditAlertFiring.From(fired, consoleUrl));
            }
        }
    }
}
