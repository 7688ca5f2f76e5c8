using System.Globalization;
using AuditOrleans.Grains;
using AuditOrleans.Silo.WebConsole.Charts;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// <c>/incident?project_id=..&amp;firing=..</c>, or <c>?project_id=..&amp;from=..&amp;to=..</c> with
/// optional <c>region</c>, <c>principal</c> and <c>source_ip</c> (each may repeat): the narrative of
/// an incident on one time axis. The 403 rate around the firing, the events of the principals and
/// source IPs it implicates before and after it, the API keys created and deleted in the span and
/// the firings in it, as charts and as one table in time order. The URL is the view: share it.
/// </summary>
public static class IncidentPage
{
    public const string Path = IncidentLink.Path;

    /// <summary>How far before and after a firing's window the timeline looks.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromMinutes(30);

    /// <summary>Longest span of a timeline.</summary>
    public static readonly TimeSpan MaxSpan = TimeSpan.FromDays(7);

    /// <summary>Most principals and most source IPs followed.</summary>
    public const int MaxImplicated = 5;

    /// <summary>Most events read per principal, source IP or key method.</summary>
    public const int MaxEventsPerLane = 200;

    private static readonly TimeSpan[] BucketWidths =
    [
        TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15),
        TimeSpan.FromHours(1), TimeSpan.FromHours(3), TimeSpan.FromHours(6), TimeSpan.FromDays(1),
    ];

    /// <summary>Maps <c>GET /incident</c>.</summary>
    public static void Map(IEndpointRouteBuilder app, AuditOrleansOptions options) =>
        app.MapGet(Path, (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => ShowAsync(page, grains, options)));

    /// <summary>The timeline of a firing.</summary>
    public static string LinkFor(FiredAlert alert) => IncidentLink.For("", alert);

    /// <summary>The timeline of the Audit Trail's time range and principal and source IP filters (the range made absolute, so that the link keeps showing the same span).</summary>
    public static string LinkFor(AuditTrailPage.Filters filters, AuditQuery query)
    {
        var to = query.RecordedBefore ?? DateTimeOffset.UtcNow;
        var from = query.RecordedAfter ?? to.AddHours(-1);
        return ConsoleLayout.Link(
            Path,
            ("project_id", query.ProjectId),
            ("region", query.Region),
            ("from", AuditEventJson.FormatTime(from)),
            ("to", AuditEventJson.FormatTime(to)),
            ("principal", filters.Principal),
            ("source_ip", filters.SourceIp));
    }

    /// <summary>The timeline half an hour either side of a time, following a principal and a source IP.</summary>
    public static string LinkAround(string projectId, string region, DateTimeOffset at, string? principal, string? sourceIp) => ConsoleLayout.Link(
        Path,
        ("project_id", projectId),
        ("region", region),
        ("from", AuditEventJson.FormatTime(at - Margin)),
        ("to", AuditEventJson.FormatTime(at + Margin)),
        ("principal", principal),
        ("source_ip", sourceIp));

    private static async Task<IResult> ShowAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Incident timeline";
        var q = page.Context.Request.Query;
        var (projectId, problem, status) = PageRequest.ResolveProject(page, PageRequest.Text(q["project_id"]), Permission.ViewEvents);
        if (projectId is null)
        {
            return ConsoleLayout.Problem(page, title, problem ?? "Name the incident: project_id with firing (a firing's id), or project_id with from and to (ISO 8601 UTC).", problem is null ? StatusCodes.Status400BadRequest : status);
        }

        var log = grains.GetGrain<IAuditLogGrain>(0);
        var errors = new List<string>();
        var firingId = PageRequest.Text(q["firing"]);
        FiredAlert? firing = null;
        if (firingId is not null)
        {
            firing = await FindFiringAsync(log, projectId, firingId);
            if (firing is null)
            {
                return ConsoleLayout.Problem(page, title, $"Project '{projectId}' has no firing with id '{Scope.Printable(firingId)}'.", StatusCodes.Status404NotFound);
            }
        }

        var regionText = PageRequest.Text(q["region"]);
        var region = firing?.Region;
        if (regionText is not null)
        {
            region = Scope.NormalizeRegion(regionText, options.Regions);
            if (region is null)
            {
                errors.Add(Scope.DescribeUnknownRegion(regionText, options.Regions));
            }
        }

        var from = Time(q["from"], "from", errors) ?? firing?.WindowStart - Margin;
        var to = Time(q["to"], "to", errors) ?? firing?.WindowEnd + Margin;
        if (errors.Count == 0 && (from is null || to is null))
        {
            errors.Add("Give the span: from and to (ISO 8601, e.g. 2026-11-23T09:00:00Z), or a firing.");
        }
        else if (from is { } f && to is { } t && (t <= f || t - f > MaxSpan))
        {
            errors.Add($"from must be before to, and the span at most {MaxSpan.TotalDays} days.");
        }

        var principals = Values(q["principal"]).ToList();
        var sources = Values(q["source_ip"]).ToList();
        if (errors.Count > 0)
        {
            return ConsoleLayout.Render(page, title, ConsoleTab.None, Html.Of($"{errors.Select(ConsoleLayout.Error)}"), projectId, region, StatusCodes.Status400BadRequest);
        }

        var span = (From: from!.Value, To: to!.Value);
        var bucket = BucketWidths.FirstOrDefault(w => (span.To - span.From) / w <= 120, TimeSpan.FromDays(1));
        var activity = await log.GetActivityAsync(new ActivityQuery { ProjectId = projectId, Region = region, From = span.From, To = span.To, Bucket = bucket, Top = MaxImplicated });

        // Who is implicated: the firing's facts, else what the URL names, else the sources of most 403s in the span.
        if (firing is not null && principals.Count == 0 && sources.Count == 0)
        {
            principals = firing.Facts.TopPrincipals.Select(static p => p.Value).Append(firing.Facts.PrincipalId).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
            sources = firing.Facts.TopSourceIps.Select(static p => p.Value).Append(firing.Facts.SourceIp).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        }
        else if (principals.Count == 0 && sources.Count == 0)
        {
            principals = Busiest(activity.TopPrincipals);
            sources = Busiest(activity.TopSourceIps);
        }

        principals = principals.Take(MaxImplicated).ToList();
        sources = sources.Where(static s => System.Net.IPAddress.TryParse(s, out _)).Take(MaxImplicated).ToList();

        var lanes = new List<(string Label, string Kind, List<AuditRecord> Records)>();
        foreach (var principal in principals)
        {
            lanes.Add(($"principal {principal}", "principal", await ReadAsync(log, projectId, span, principal: principal)));
        }

        foreach (var source in sources)
        {
            lanes.Add(($"source IP {source}", "ip", await ReadAsync(log, projectId, span, sourceIp: source)));
        }

        var keys = (await ReadAsync(log, projectId, span, method: "CreateAPIKey")).Concat(await ReadAsync(log, projectId, span, method: "DeleteAPIKey")).OrderBy(static r => r.Event.RecordedAt).ToList();
        lanes.Add(("API keys created, deleted", "key", keys));

        var firings = page.User!.Can(Permission.ViewAlertHistory, projectId)
            ? (await log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = projectId, TriggeredAfter = span.From, Limit = 1000 })).Where(a => a.TriggeredAt <= span.To).OrderBy(static a => a.TriggeredAt).ToList()
            : [];

        var silences = page.User.Can(Permission.ViewAlerts, projectId)
            ? (await grains.GetGrain<IAlertSilenceGrain>(projectId).ListAsync(includeEnded: true)).Where(x => region is null || x.Region is null || x.Region == region).ToList()
            : [];
        var steps = IncidentLifecycle.Steps(firings.Where(a => region is null || a.Region == region), silences, span.From, span.To);
        var body = Render(page, projectId, region, span, bucket, firing, activity, lanes, firings, steps, options);
        return ConsoleLayout.Render(page, title, ConsoleTab.None, body, projectId, region);
    }

    private static Html Render(ConsolePage page, string projectId, string? region, (DateTimeOffset From, DateTimeOffset To) span, TimeSpan bucket, FiredAlert? firing,
        ActivitySummary activity, List<(string Label, string Kind, List<AuditRecord> Records)> lanes, List<FiredAlert> firings, List<IncidentLifecycle.Step> steps,
        AuditOrleansOptions options)
    {
        // Firings sit on the events' time axis at the event that made them fire (they are triggered when it is received).
        var marks = firings.Select(a => new ChartMark(a.EventTime, $"{AlertCatalog.DisplayName(a)} {KindWord(a.Kind)} ({a.Region}) on the event of {ConsoleFormat.Readable(a.EventTime)}, triggered at {ConsoleFormat.Readable(a.TriggeredAt)}", LinkFor(a))).ToList();
        var forbidden = activity.Buckets.Sum(static b => b.Forbidden);
        var bars = activity.Buckets.Select(b => new ChartBar(b.Start, b.Start + bucket, b.Events, b.Forbidden,
            $"{ConsoleFormat.Readable(b.Start)}: {b.Events} event(s), {b.Forbidden} HTTP 403")).ToList();
        var rate = SvgChart.Bars(
            "incident-rate",
            $"Events and HTTP 403 per {Width(bucket)}, {(region is null ? "every region" : region)}",
            $"{ConsoleFormat.Count(activity.Buckets.Sum(static b => b.Events))} events, {ConsoleFormat.Count(forbidden)} of them HTTP 403, from {ConsoleFormat.Readable(span.From)} to {ConsoleFormat.Readable(span.To)}; {firings.Count} firing(s) marked.",
            span.From, span.To, bars, marks: marks,
            band: firing is null ? null : new ChartBand(firing.WindowStart, firing.WindowEnd, $"The window of the firing: {ConsoleFormat.Readable(firing.WindowStart)} to {ConsoleFormat.Readable(firing.WindowEnd)}"),
            legend: Html.Of($"{SvgChart.Legend("bar", "events")}{SvgChart.Legend("hl", "HTTP 403")}{SvgChart.Legend("mark", "firings")}{(firing is null ? Html.Empty : SvgChart.Legend("band", "the firing's window"))}"));

        var chartLanes = lanes.Select(l => new ChartLane(l.Label, l.Records.Select(r => new ChartPoint(
            r.Event.RecordedAt ?? r.IngestedAt,
            l.Kind == "key" ? ChartPointKind.Key : ChartPointKind.Event,
            ConsoleFormat.StatusCss(r.Event.StatusCode),
            $"{ConsoleFormat.Readable(r.Event.RecordedAt ?? r.IngestedAt)} {r.Event.MethodName} → {r.Event.StatusCode} ({r.Event.PrincipalId ?? "anonymous"}, {r.Event.SourceIp ?? "no IP"})",
            EventDetailPage.Link(r))).ToList())).ToList();
        var laneChart = SvgChart.Lanes(
            "incident-lanes",
            "Events of the implicated principals and source IPs, and API key changes",
            $"{lanes.Count} lanes; failed calls are drawn in the alert colour, API key changes as diamonds; firings are vertical marks.",
            span.From, span.To, chartLanes, marks,
            Html.Of($"{SvgChart.Legend("ok", "2xx/3xx")}{SvgChart.Legend("warn", "4xx")}{SvgChart.Legend("hl", "5xx")}{SvgChart.Legend("mark", "firings")}"));

        // One table: every event of every lane once, in time order, with the lanes it belongs to.
        var rows = lanes
            .SelectMany(l => l.Records.Select(r => (Lane: l.Label, Record: r)))
            .GroupBy(static x => (x.Record.Region, x.Record.Sequence))
            .Select(static g => (Lanes: g.Select(static x => x.Lane).Distinct().ToList(), g.First().Record))
            .OrderBy(static x => x.Record.Event.RecordedAt ?? x.Record.IngestedAt).ThenBy(static x => x.Record.Sequence)
            .ToList();
        var anchor = firing?.EventTime;
        var table = rows.Count == 0
            ? Html.Of($"<p class=\"empty\">No event of these principals, source IPs or API keys in the span.</p>")
            : Html.Of($"""
                <table class="timeline">
                <caption>Events in time order{(anchor is null ? "" : ", relative to the firing")}</caption>
                <thead><tr><th scope="col">Time (UTC)</th>{(anchor is null ? Html.Empty : Html.Of($"<th scope=\"col\">From the firing's event</th>"))}<th scope="col">Lane</th><th scope="col">Principal</th><th scope="col">Source IP</th><th scope="col">Method</th><th scope="col">Status</th><th scope="col">Event</th></tr></thead>
                <tbody>
                {rows.Select(x => Row(x.Record, x.Lanes, anchor))}
                </tbody>
                </table>
                """);
        var truncated = lanes.Where(static l => l.Records.Count >= MaxEventsPerLane).Select(static l => l.Label).ToList();
        var shareLink = page.Context.Request.Path + page.Context.Request.QueryString;
        var grafana = options.Console.GrafanaDashboardUrl is { Length: > 0 } dashboard
            ? Html.Of($" · <a href=\"{GrafanaLink(dashboard, span.From, span.To)}\" rel=\"noreferrer\">Metrics of this span in Grafana</a>")
            : Html.Empty;
        var auditTrail = ConsoleLayout.Link("/audit-trail", ("project_id", projectId), ("region", region), ("recorded_after", AuditEventJson.FormatTime(span.From)), ("recorded_before", AuditEventJson.FormatTime(span.To)));

        return Html.Of($"""
            {(firing is null ? Html.Empty : FiringSummary(firing))}
            <p class="summary">From {ConsoleFormat.Time(span.From)} to {ConsoleFormat.Time(span.To)} in project <code>{projectId}</code>{(region is null ? "" : ", region " + region)}.</p>
            <p class="links"><a href="{shareLink}">Link to this view</a> (share it: it shows the same span) · <a href="{auditTrail}">These {ConsoleFormat.Count(activity.Buckets.Sum(static b => b.Events))} events in the Audit Trail</a>{grafana}</p>
            {rate}
            {laneChart}
            {(truncated.Count == 0 ? Html.Empty : ConsoleLayout.Notice($"Only the first {MaxEventsPerLane} events of {string.Join(", ", truncated)} are shown: narrow the span to see more."))}
            {table}
            <h2 id="lifecycle">Alert lifecycle</h2>
            {IncidentLifecycle.Render(steps, anchor)}
            """);
    }

    private static string KindWord(AlertKind kind) => kind switch { AlertKind.Update => "update", AlertKind.Resolved => "resolved", AlertKind.RuleChanged => "changed", _ => "fired" };

    private static Html FiringSummary(FiredAlert a)
    {
        var f = a.Facts;
        var facts = new List<string>();
        if (f.ForbiddenCount is { } count)
        {
            facts.Add($"{count} HTTP 403 in {AlertCatalog.ForbiddenWindow.TotalMinutes} minutes");
        }

        if (f.MethodName is not null)
        {
            facts.Add($"{f.MethodName} → {f.StatusCode}");
        }

        if (f.ApiKeyId is not null)
        {
            facts.Add($"API key {f.ApiKeyId}");
        }

        return Html.Of($"""
            <section class="firing" aria-labelledby="firing-title">
            <h2 id="firing-title"><span class="alert-name">{AlertCatalog.DisplayName(a)}</span>{(a.IsTest ? " [TEST]" : "")} <span class="severity {a.Severity.ToString().ToLowerInvariant()}">{a.Severity}</span></h2>
            <p>{AlertCatalog.Describe(a).Description} Fired at {ConsoleFormat.Time(a.TriggeredAt)} in {a.Region}, about {ConsoleFormat.Time(a.WindowStart)} to {ConsoleFormat.Time(a.WindowEnd)}{(facts.Count == 0 ? "" : ": " + string.Join("; ", facts))}.</p>
            <p class="links"><a href="{AuditTrailLink.For("", a)}">The events of the alert</a> · <a href="{ConsoleLayout.Link("/alerts/history", ("project_id", a.ProjectId), ("region", a.Region))}">Alert history</a></p>
            </section>
            """);
    }

    private static Html Row(AuditRecord r, List<string> lanes, DateTimeOffset? anchor)
    {
        var e = r.Event;
        var at = e.RecordedAt ?? r.IngestedAt;
        var relative = anchor is { } a ? Html.Of($"<td class=\"relative\">{Relative(at - a)}</td>") : Html.Empty;
        return Html.Of($"""
            <tr class="{(anchor is { } x && at > x ? "after" : "before")}">
              <td class="time">{ConsoleFormat.Time(at)}<div class="region">{r.Region}</div></td>
              {relative}
              <td>{string.Join(", ", lanes)}</td>
              <td>{ConsoleFormat.Short(e.PrincipalId, 40, "anonymous")}</td>
              <td><code>{e.SourceIp}</code></td>
              <td>{e.ProductName} <span class="method">{ConsoleFormat.Short(e.MethodName, 40)}</span></td>
              <td>{ConsoleFormat.Status(e.StatusCode)}</td>
              <td class="id"><a href="{EventDetailPage.Link(r)}">Details<span class="visually-hidden"> of event {e.Id}</span></a></td>
            </tr>
            """);
    }

    /// <summary>A signed duration such as <c>-4m 12s</c> or <c>+1h 02m</c>.</summary>
    public static string Relative(TimeSpan d)
    {
        var sign = d < TimeSpan.Zero ? "-" : "+";
        d = d.Duration();
        return d.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{sign}{(int)d.TotalHours}h {d.Minutes:00}m")
            : string.Create(CultureInfo.InvariantCulture, $"{sign}{d.Minutes}m {d.Seconds:00}s");
    }

    /// <summary>A Grafana dashboard URL on a time range (Grafana reads from and to as epoch milliseconds).</summary>
    public static string GrafanaLink(string dashboard, DateTimeOffset from, DateTimeOffset to) =>
        dashboard + (dashboard.Contains('?', StringComparison.Ordinal) ? "&" : "?") +
        string.Create(CultureInfo.InvariantCulture, $"from={from.ToUnixTimeMilliseconds()}&to={to.ToUnixTimeMilliseconds()}");

    private static async Task<FiredAlert?> FindFiringAsync(IAuditLogGrain log, string projectId, string firingId)
    {
        // Firing ids are version 7 GUIDs: their first 48 bits are the time they were made.
        DateTimeOffset? made = Guid.TryParseExact(firingId, "N", out var guid) && guid.Version == 7
            ? DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(firingId[..12], 16))
            : null;
        var history = await log.GetAlertHistoryAsync(new AlertHistoryQuery
        {
            ProjectId = projectId,
            TriggeredAfter = made?.AddMinutes(-1),
            Limit = QueryLimits.MaxAlertHistory,
        });
        return history.FirstOrDefault(a => string.Equals(a.Id, firingId, StringComparison.Ordinal));
    }

    private static async Task<List<AuditRecord>> ReadAsync(IAuditLogGrain log, string projectId, (DateTimeOffset From, DateTimeOffset To) span, string? principal = null, string? sourceIp = null, string? method = null)
    {
        var page = await log.QueryAsync(new AuditQuery
        {
            ProjectId = projectId,
            RecordedAfter = span.From,
            RecordedBefore = span.To,
            PrincipalId = principal,
            SourceIp = sourceIp,
            MethodName = method,
            Order = SortOrder.OldestFirst,
            PageSize = MaxEventsPerLane,
        });
        return [.. page.Records];
    }

    /// <summary>The values that caused the most 403s (else the most events), for a span that names nobody.</summary>
    private static List<string> Busiest(IReadOnlyList<ActivityCount> top)
    {
        var forbidden = top.Where(static c => c.Forbidden > 0).OrderByDescending(static c => c.Forbidden).Select(static c => c.Value).Take(3).ToList();
        return forbidden.Count > 0 ? forbidden : top.Select(static c => c.Value).Take(3).ToList();
    }

    private static IEnumerable<string> Values(Microsoft.Extensions.Primitives.StringValues values) =>
        values.Select(static v => v?.Trim()).Where(static v => !string.IsNullOrEmpty(v)).Distinct(StringComparer.Ordinal)!;

    private static DateTimeOffset? Time(Microsoft.Extensions.Primitives.StringValues value, string name, List<string> errors)
    {
        if (PageRequest.Text(value) is not { } text)
        {
            return null;
        }

        if (AuditEventJson.ParseTime(text) is { } time)
        {
            return time;
        }

        errors.Add($"{name} '{Scope.Printable(text)}' is not an ISO 8601 time: use e.g. 2026-11-23T09:00:00Z.");
        return null;
    }

    private static string Width(TimeSpan bucket) => bucket switch
    {
        { TotalDays: >= 1 } => "day",
        { TotalHours: >= 1 } b => b.TotalHours == 1 ? "hour" : $"{b.TotalHours} hours",
        { TotalMinutes: >= 1 } b => b.TotalMinutes == 1 ? "minute" : $"{b.TotalMinutes} minutes",
        var b => $"{b.TotalSeconds} seconds",
    };
}
