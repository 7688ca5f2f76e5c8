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
    /// <summary>Only this alert.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(AlertNameCompleter))]
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
        if (Name is not null)
        {
            if (!AlertCatalog.TryParse(Name, out var parsed))
            {
                ThrowAuditError(Names.DescribeUnknownAlert(Name), "UnknownAlertName", ErrorCategory.InvalidArgument, Name);
            }

            alert = parsed;
        }

        var query = new AlertHistoryQuery
        {
            ProjectId = ResolveProjectId(ProjectId),
            Region = Region is null ? null : Names.NormalizeRegion(Region),
            Alert = alert,
            TriggeredAfter = AuditEventQueryCommand.ToUtc(After),
            Limit = First,
            FiringId = Id?.Trim().ToLowerInvariant(),
            SilenceId = SilenceId?.Trim().ToLowerInvariant(),
        };
        var grain = Grains.GetGrain<IAuditLogGrain>(0);
        if (TryRead(() => grain.GetAlertHistoryAsync(query), "GetAuditAlertHistoryFailed", query, out var history))
        {
            var consoleUrl = Connection.Settings.ConsoleUrl;
            foreach (var fired in history)
            {
                WriteObject(AuditAlertFiring.From(fired, consoleUrl));
            }
        }
    }
}
