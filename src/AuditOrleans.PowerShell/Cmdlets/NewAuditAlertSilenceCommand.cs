using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Creates a silence: until it ends (or inside each of its weekly windows) the named alerts of
/// the project, in a region or every region, optionally only from one principal or source IP,
/// are recorded in the history but emailed to nobody. The silence records the API key that
/// created it and the reason.
/// </summary>
[Cmdlet(VerbsCommon.New, "AuditAlertSilence", SupportsShouldProcess = true, DefaultParameterSetName = UntilSet)]
[OutputType(typeof(AuditAlertSilence))]
public sealed class NewAuditAlertSilenceCommand : AuditCmdlet
{
    private const string UntilSet = "Until";
    private const string ForSet = "For";
    private const string WeeklySet = "Weekly";

    /// <summary>
    /// The alerts to silence (wildcards allowed: ApiKey*); CustomRule for every custom rule; any
    /// other name is taken as the name of one custom rule.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(AlertOrRuleNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Why: shown with the silence and kept with it.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    [ValidateLength(1, SilenceLimits.MaxReasonLength)]
    public string Reason { get; set; } = "";

    /// <summary>Only this region (or zone); default: every region of the project.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string? Region { get; set; }

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Only firings of this principal.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PrincipalId { get; set; }

    /// <summary>Only firings from this source IP.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SourceIp { get; set; }

    /// <summary>When it starts; default now. A time without zone is UTC.</summary>
    [Parameter]
    [TimeArgument]
    public DateTime? Start { get; set; }

    /// <summary>When it ends. A time without zone is UTC. With -DaysOfWeek: when the schedule stops (default never).</summary>
    [Parameter(Mandatory = true, ParameterSetName = UntilSet)]
    [Parameter(ParameterSetName = WeeklySet)]
    [TimeArgument]
    public DateTime? End { get; set; }

    /// <summary>How long it lasts from its start; with -DaysOfWeek, the length of each weekly window.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ForSet)]
    [Parameter(Mandatory = true, ParameterSetName = WeeklySet)]
    public TimeSpan Duration { get; set; }

    /// <summary>A weekly schedule: the days its windows start on.</summary>
    [Parameter(Mandatory = true, ParameterSetName = WeeklySet)]
    [ValidateNotNullOrEmpty]
    public DayOfWeek[] DaysOfWeek { get; set; } = [];

    /// <summary>Local start time of each weekly window in -TimeZone, e.g. 02:00.</summary>
    [Parameter(Mandatory = true, ParameterSetName = WeeklySet)]
    public TimeSpan At { get; set; }

    /// <summary>IANA time zone of the weekly schedule, e.g. Europe/Paris; default this computer's zone.</summary>
    [Parameter(ParameterSetName = WeeklySet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TimeZoneCompleter))]
    public string? TimeZone { get; set; }

    protected override void EndProcessing()
    {
        // A name that is no alert (and no wildcard) names one custom rule; the silo checks its form.
        var rules = new List<string>();
        var alerts = Names.MatchAlerts(Name, unknown =>
        {
            var rule = unknown.Trim();
            if (!RuleLimits.IsValidName(rule))
            {
                ThrowAuditError(
                    Names.DescribeUnknownAlert(unknown) + $" CustomRule stands for every custom rule; a rule name is 1 to {RuleLimits.MaxNameLength} letters, digits, '-', '_' or '.'.",
                    "UnknownAlertName", ErrorCategory.InvalidArgument, unknown, "Use one of the alert names above or a rule name of Get-AuditAlertRule (Tab completes them).");
            }

            rules.Add(rule);
        },
            includeCustomRule: true);
        if (alerts.Count == 0 && rules.Count == 0)
        {
            ThrowAuditError($"No alert matches {string.Join(", ", Name)}. Valid names: {AlertCatalog.ValidNames}, CustomRule, or a rule name.", "UnknownAlertName", ErrorCategory.InvalidArgument, Name);
        }

        var projectId = ResolveProjectId(ProjectId);
        var region = Region is null ? null : Names.NormalizeRegion(Region);
        var start = TimeArguments.ToUtc(Start);
        var request = new AlertSilenceRequest
        {
            Alerts = [.. alerts.Select(static a => a.Name)],
            Rules = rules,
            Region = region,
            PrincipalId = PrincipalId,
            SourceIp = SourceIp,
            StartsAt = start,
            EndsAt = TimeArguments.ToUtc(End),
            Duration = ParameterSetName == ForSet ? Duration : null,
            Weekly = ParameterSetName == WeeklySet
                ? new WeeklyWindow { Days = DaysOfWeek.ToWeekDays(), StartTime = At, Duration = Duration, TimeZone = TimeZone ?? LocalZone() }
                : null,
            Reason = Reason,
        };

        var what = string.Join(", ", request.Alerts.Select(static a => a.ToString()).Concat(rules.Select(static r => $"rule {r}")));
        var where = region is null ? $"project '{projectId}' (every region)" : $"project '{projectId}', region '{region}'";
        var when = request.Weekly is { } weekly ? $"every {AuditAlertSilence.Describe(weekly)}"
            : request.EndsAt is { } end ? $"until {AuditEventJson.FormatTime(end)}"
            : $"for {Duration}";
        if (!ShouldProcess($"{what} in {where}", $"Silence {when}"))
        {
            return;
        }

        var grain = Grains.GetGrain<IAlertSilenceGrain>(projectId);
        if (TryCall(() => grain.CreateAsync(request), "NewAuditAlertSilenceFailed", what, out var silence))
        {
            WriteVerbose($"Silence {silence.Id} created: {what} in {where}, {when}.");
            WriteObject(AuditAlertSilence.From(silence));
        }
    }

    /// <summary>This computer's zone as an IANA id (Windows ids converted).</summary>
    internal static string LocalZone()
    {
        var local = TimeZoneInfo.Local;
        return local.HasIanaId ? local.Id : TimeZoneInfo.TryConvertWindowsIdToIanaId(local.Id, out var iana) ? iana : "UTC";
    }
}
