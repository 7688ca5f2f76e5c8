using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// The filters of Get-AuditEvent and Export-AuditEvent (docs/events.md, Reading the log) and the walk over the pages of
/// the result, following continuation tokens until -First events or the end.
/// </summary>
public abstract class AuditEventQueryCommand : AuditCmdlet
{
    /// <summary>Largest page the cluster serves.</summary>
    public const int MaxPageSize = QueryLimits.MaxPageSize;

    /// <summary>Region (or zone); every region of the project when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string? Region { get; set; }

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Events recorded at or after this time (default: one hour ago). A time without zone is UTC.</summary>
    [Parameter]
    [TimeArgument]
    public DateTime? RecordedAfter { get; set; }

    /// <summary>Events recorded at or before this time (default: now). A time without zone is UTC.</summary>
    [Parameter]
    [TimeArgument]
    public DateTime? RecordedBefore { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PrincipalId { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SourceIp { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? MethodName { get; set; }

    [Parameter]
    [ValidateRange(100, 599)]
    public int? StatusCode { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ProductName { get; set; }

    /// <summary>Events that touched this resource (an API key's access key for iam_api_key).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ResourceId { get; set; }

    /// <summary>Only events of this kind: Api, Authentication (console sign-ins) or System (docs/events.md, Event kinds).</summary>
    [Parameter]
    public EventKind? Kind { get; set; }

    /// <summary>Newest events first (the default).</summary>
    [Parameter]
    public SwitchParameter Newest { get; set; }

    /// <summary>Oldest events first.</summary>
    [Parameter]
    public SwitchParameter Oldest { get; set; }

    /// <summary>Stop after this many events.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? First { get; set; }

    /// <summary>True once a page could not be read: <see cref="Query"/> wrote the error and stopped early.</summary>
    protected bool QueryFailed { get; private set; }

    /// <summary>
    /// The matching events, page after page; each page rides out a failover (see
    /// <see cref="AuditCmdlet.TryRead{T}"/>). Without -RecordedAfter, an empty result is a warning
    /// that names the default window and how to widen it.
    /// </summary>
    protected IEnumerable<AuditRecord> Query()
    {
        if (Newest && Oldest)
        {
            ThrowAuditError("-Newest and -Oldest cannot be used together: choose one order.", "ConflictingOrder", ErrorCategory.InvalidArgument, null);
        }

        var query = new AuditQuery
        {
            ProjectId = ResolveProjectId(ProjectId),
            Region = Region is null ? null : Names.NormalizeRegion(Region),
            RecordedAfter = TimeArguments.ToUtc(RecordedAfter),
            RecordedBefore = TimeArguments.ToUtc(RecordedBefore),
            PrincipalId = PrincipalId,
            SourceIp = SourceIp,
            MethodName = MethodName,
            StatusCode = StatusCode,
            ProductName = ProductName,
            ResourceId = ResourceId,
            Kind = Kind,
            Order = Oldest ? SortOrder.OldestFirst : SortOrder.NewestFirst,
        };

        var grain = Grains.GetGrain<IAuditLogGrain>(0);
        var remaining = First ?? int.MaxValue;
        var found = 0;
        var asked = DateTimeOffset.UtcNow;
        string? token = null;
        do
        {
            var pageQuery = query with { ContinuationToken = token, PageSize = Math.Min(remaining, MaxPageSize) };
            if (!TryRead(() => grain.QueryAsync(pageQuery), "GetAuditEventFailed", pageQuery, out var page))
            {
                QueryFailed = true;
                yield break;
            }

            foreach (var record in page.Records)
            {
                found++;
                yield return record;
                if (--remaining == 0)
                {
                    yield break;
                }
            }

            token = page.ContinuationToken;
        }
        while (token is not null);

        if (found == 0 && RecordedAfter is null)
        {
            WriteWarning(DescribeEmptyDefaultWindow(query.ProjectId, asked));
        }
    }

    /// <summary>The hint for a query without -RecordedAfter that found nothing: the window it searched and how to widen it.</summary>
    internal static string DescribeEmptyDefaultWindow(string projectId, DateTimeOffset asked) =>
        string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"No event of project '{projectId}' matched in the last hour (recorded after {asked.AddHours(-1):yyyy-MM-dd HH:mm:ss} UTC), the default window. Events keep the recorded_at of their source (an imported export is older): add -RecordedAfter to search further back, e.g. -RecordedAfter (Get-Date).AddDays(-30).");
}
