using System.Globalization;
using AuditOrleans.Grains;
using AuditOrleans.Silo.WebConsole.Charts;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// <c>/</c>, the landing page: a project picker (Owner keys: the projects with events or firings;
/// the pick is remembered), then per region the alerts that are on and their firings, firings over
/// 24 hours and 7 days, HTTP 403 per 5 minutes over 24 hours against the alert's threshold, the
/// busiest principals and source IPs, and the latest firings with their timelines.
/// </summary>
public static class OverviewPage
{
    public const string Path = "/";

    public const int TopCount = 10;

    public const int RecentFirings = 10;

    /// <summary>Maps <c>GET /</c>.</summary>
    public static void Map(IEndpointRouteBuilder app, AuditOrleansOptions options) =>
        app.MapGet(Path, (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => ShowAsync(page, grains, options)));

    private static async Task<IResult> ShowAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Overview";
        var requested = PageRequest.Text(page.Context.Request.Query["project_id"]);
        var (projectId, problem, status) = PageRequest.ResolveProject(page, requested, Permission.ViewAlerts);
        var log = grains.GetGrain<IAuditLogGrain>(0);
        var editable = PageRequest.ProjectEditable(page);
        IReadOnlyList<string> known = editable ? await log.ListProjectsAsync(QueryLimits.MaxProjects) : [];
        var picker = Picker(projectId ?? requested, editable, known);
        if (projectId is null)
        {
            var message = problem is not null ? ConsoleLayout.Error(problem)
                : known.Count == 0 ? ConsoleLayout.Notice("No project has events or firings yet: send events (Send-AuditEvent), or enter a project id.")
                : ConsoleLayout.Notice("Pick a project.");
            var list = known.Count == 0 ? Html.Empty : Html.Of($"""
                <section aria-labelledby="projects-title"><h2 id="projects-title">Projects with events or firings</h2>
                <ul class="projects">{known.Select(static p => Html.Of($"<li><a href=\"{ConsoleLayout.Link(Path, ("project_id", p))}\">{p}</a></li>"))}</ul></section>
                """);
            return ConsoleLayout.Render(page, title, ConsoleTab.Overview, Html.Of($"{picker}{message}{list}"), statusCode: status);
        }

        if (requested is not null && editable)
        {
            ProjectCookie.Write(page.Context.Response, projectId);
        }

        var user = page.User!;
        var now = DateTimeOffset.UtcNow;
        var configs = await Task.WhenAll(options.Regions.Select(r => grains.GetGrain<IAlertConfigGrain>(Scope.Key(projectId, r)).GetAsync()));
        var firings = user.Can(Permission.ViewAlertHistory, projectId)
            ? await log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = projectId, TriggeredAfter = now.AddDays(-7), Limit = QueryLimits.MaxAlertHistory })
            : null;
        ActivitySummary? activity = null;
        var rateTo = Ceiling(now, TimeSpan.FromMinutes(5));
        if (user.Can(Permission.ViewEvents, projectId))
        {
            activity = await log.GetActivityAsync(new ActivityQuery { ProjectId = projectId, From = rateTo.AddDays(-1), To = rateTo, Bucket = AlertCatalog.ForbiddenWindow, Top = TopCount });
        }

        var body = Html.Of($"""
            {picker}
            {Regions(projectId, configs, firings, now)}
            {FiringCharts(firings, now)}
            {ForbiddenChart(projectId, activity, firings, rateTo)}
            {Top(projectId, activity, rateTo)}
            {Recent(firings)}
            """);
        return ConsoleLayout.Render(page, title, ConsoleTab.Overview, body, projectId);
    }

    private static Html Picker(string? projectId, bool editable, IReadOnlyList<string> known)
    {
        var input = editable
            ? Html.Of($"<input id=\"o-project\" name=\"project_id\" value=\"{projectId}\" list=\"o-projects\" required placeholder=\"project id\" autocomplete=\"off\"><datalist id=\"o-projects\">{known.Select(static p => Html.Of($"<option value=\"{p}\"></option>"))}</datalist>")
            : Html.Of($"<input id=\"o-project\" name=\"project_id\" value=\"{projectId}\" readonly>");
        return Html.Of($"""
            <form method="get" action="/" class="selector" aria-label="Project">
              <label for="o-project">Project</label>{input}
              {(editable ? Html.Of($"<button type=\"submit\">Show</button><span class=\"hint\">{known.Count} project(s) with events or firings; the console remembers your pick.</span>") : Html.Empty)}
            </form>
            """);
    }

    private static Html Regions(string projectId, AlertConfiguration[] configs, IReadOnlyList<FiredAlert>? firings, DateTimeOffset now)
    {
        var rows = configs.Select(c =>
        {
            var active = c.Active.Count == 0
                ? Html.Of($"<span class=\"none\">none</span>")
                : Html.Join(AlertCatalog.All.Where(a => c.IsActive(a.Name)).Select(static a => Html.Of($"<span class=\"alert-chip {a.Severity.ToString().ToLowerInvariant()}\">{a.Name}</span> ")));
            var fired = firings?.Where(a => a.Region == c.Region && !a.IsTest).ToList();
            var day = fired?.Count(a => a.TriggeredAt >= now.AddDays(-1));
            var last = fired?.FirstOrDefault();
            var episode = OpenEpisode(projectId, fired);
            return Html.Of($"""
                <tr>
                  <th scope="row">{c.Region}</th>
                  <td>{active} <a class="edit" href="{ConsoleLayout.Link("/alerts", ("project_id", projectId), ("region", c.Region))}">Change<span class="visually-hidden"> the alerts of {c.Region}</span></a></td>
                  <td>{episode}</td>
                  <td class="num">{(day is null ? "—" : ConsoleFormat.Count(day.Value))}</td>
                  <td class="num">{(fired is null ? "—" : ConsoleFormat.Count(fired.Count))}</td>
                  <td>{(last is null ? Html.Of($"<span class=\"none\">none</span>") : Html.Of($"<a href=\"{IncidentPage.LinkFor(last)}\">{last.Alert}</a> {ConsoleFormat.Time(last.TriggeredAt)}"))}</td>
                </tr>
                """);
        });
        return Html.Of($"""
            <section aria-labelledby="regions-title">
            <h2 id="regions-title">Regions</h2>
            <table class="regions">
            <thead><tr><th scope="col">Region</th><th scope="col">Alerts on</th><th scope="col">Open episode</th><th scope="col">Firings, 24 h</th><th scope="col">Firings, 7 days</th><th scope="col">Latest firing</th></tr></thead>
            <tbody>{rows}</tbody>
            </table>
            </section>
            """);
    }

    /// <summary>
    /// The region's open HttpForbiddenErrorRateHigh episode: one with a notice in the last 7 days and no
    /// resolved notice (docs/alerts.md, Episodes), linked to its timeline; "—" without the history.
    /// </summary>
    private static Html OpenEpisode(string projectId, List<FiredAlert>? fired)
    {
        if (fired is null)
        {
            return Html.Of($"—");
        }

        var notices = fired.Where(static a => a.Alert == AlertName.HttpForbiddenErrorRateHigh && a.EpisodeId is not null).ToList();
        var resolved = notices.Where(static a => a.Kind == AlertKind.Resolved).Select(static a => a.EpisodeId!).ToHashSet(StringComparer.Ordinal);
        var open = notices.Where(a => !resolved.Contains(a.EpisodeId!)).GroupBy(static a => a.EpisodeId!).FirstOrDefault();
        if (open is null)
        {
            return Html.Of($"<span class=\"none\">none</span>");
        }

        var first = open.MinBy(static a => a.TriggeredAt)!;
        var updates = open.Count(static a => a.Kind == AlertKind.Update);
        var link = ConsoleLayout.Link(IncidentPage.Path, ("project_id", projectId), ("firing", open.Key));
        return Html.Of($"<a class=\"episode-open\" href=\"{link}\">HTTP 403 since {ConsoleFormat.Readable(first.Kind == AlertKind.Firing ? first.TriggeredAt : first.WindowStart)}</a>{(updates == 0 ? "" : $", {updates} update(s)")}");
    }

    private static Html FiringCharts(IReadOnlyList<FiredAlert>? firings, DateTimeOffset now)
    {
        if (firings is null)
        {
            return ConsoleLayout.Notice("Your key cannot read the alert history of this project: no firing charts.");
        }

        var real = firings.Where(static a => !a.IsTest).ToList();
        Html Chart(string id, string title, TimeSpan span, TimeSpan bucket)
        {
            var to = Ceiling(now, bucket);
            var from = to - span;
            var count = (int)(span / bucket);
            var bars = Enumerable.Range(0, count).Select(i =>
            {
                var start = from + (bucket * i);
                var inside = real.Where(a => a.TriggeredAt >= start && a.TriggeredAt < start + bucket).ToList();
                var high = inside.Count(static a => a.Severity == AlertSeverity.High);
                var detail = inside.Count == 0 ? "no firing" : string.Join(", ", inside.GroupBy(static a => a.Alert).Select(static g => $"{g.Key} ×{g.Count()}"));
                return new ChartBar(start, start + bucket, inside.Count, high, $"{ConsoleFormat.Readable(start)}: {detail}");
            }).ToList();
            var total = real.Count(a => a.TriggeredAt >= from);
            var highTotal = real.Count(a => a.TriggeredAt >= from && a.Severity == AlertSeverity.High);
            return SvgChart.Bars(id, title, $"{total} firing(s), {highTotal} of high severity (drawn in the alert colour).", from, to, bars, height: 150,
                legend: Html.Of($"{SvgChart.Legend("bar", "firings")}{SvgChart.Legend("hl", "of high severity")}"));
        }

        return Html.Of($"""
            <section aria-labelledby="firings-title" class="charts">
            <h2 id="firings-title">Firings</h2>
            {Chart("firings-24h", "Firings per hour, last 24 hours", TimeSpan.FromDays(1), TimeSpan.FromHours(1))}
            {Chart("firings-7d", "Firings per 6 hours, last 7 days", TimeSpan.FromDays(7), TimeSpan.FromHours(6))}
            </section>
            """);
    }

    private static Html ForbiddenChart(string projectId, ActivitySummary? activity, IReadOnlyList<FiredAlert>? firings, DateTimeOffset to)
    {
        if (activity is null)
        {
            return ConsoleLayout.Notice("Your key cannot read the events of this project: no HTTP 403 chart, no top principals or source IPs.");
        }

        var width = AlertCatalog.ForbiddenWindow;
        var bars = activity.Buckets.Select(b => new ChartBar(b.Start, b.Start + width, b.Forbidden, b.Forbidden > AlertCatalog.ForbiddenThreshold ? b.Forbidden : null,
            $"{ConsoleFormat.Readable(b.Start)}: {b.Forbidden} HTTP 403 of {b.Events} event(s)")).ToList();
        var marks = (firings ?? []).Where(a => a.Alert == AlertName.HttpForbiddenErrorRateHigh && a.EventTime >= to.AddDays(-1) && a.EventTime <= to)
            .Select(a => new ChartMark(a.EventTime, $"HttpForbiddenErrorRateHigh in {a.Region} on the event of {ConsoleFormat.Readable(a.EventTime)}: open its timeline", IncidentPage.LinkFor(a))).ToList();
        var forbidden = activity.Buckets.Sum(static b => b.Forbidden);
        var events = activity.Buckets.Sum(static b => b.Events);
        var peak = activity.Buckets.MaxBy(static b => b.Forbidden);
        var chart = SvgChart.Bars(
            "forbidden-24h",
            "HTTP 403 per 5 minutes, last 24 hours, every region",
            $"{ConsoleFormat.Count(forbidden)} HTTP 403 of {ConsoleFormat.Count(events)} events; the most in 5 minutes: {peak?.Forbidden ?? 0}{(peak is { Forbidden: > 0 } p ? " at " + ConsoleFormat.Readable(p.Start) : "")}. The alert fires above {AlertCatalog.ForbiddenThreshold} in 5 minutes (dashed line); buckets above it are drawn in the alert colour.",
            to.AddDays(-1), to, bars, new ChartThreshold(AlertCatalog.ForbiddenThreshold, $"alert above {AlertCatalog.ForbiddenThreshold}"), marks,
            legend: Html.Of($"{SvgChart.Legend("bar", "HTTP 403")}{SvgChart.Legend("hl", "above the alert's threshold")}{SvgChart.Legend("mark", "HttpForbiddenErrorRateHigh fired")}"));
        return Html.Of($"""
            <section aria-labelledby="forbidden-title" class="charts">
            <h2 id="forbidden-title">HTTP 403</h2>
            <p class="summary">{ConsoleFormat.Count(forbidden)} HTTP 403 of {ConsoleFormat.Count(events)} events in the last 24 hours. <a href="{ConsoleLayout.Link("/audit-trail", ("project_id", projectId), ("status_code", "403"), ("recorded_after", AuditEventJson.FormatTime(to.AddDays(-1))), ("recorded_before", AuditEventJson.FormatTime(to)))}">See them</a></p>
            {chart}
            </section>
            """);
    }

    private static Html Top(string projectId, ActivitySummary? activity, DateTimeOffset to)
    {
        if (activity is null)
        {
            return Html.Empty;
        }

        var from = to.AddDays(-1);
        Html Table(string id, string title, string what, string filter, IReadOnlyList<ActivityCount> counts) => Html.Of($"""
            <section aria-labelledby="{id}" class="top">
            <h2 id="{id}">{title}</h2>
            {(counts.Count == 0 ? Html.Of($"<p class=\"empty\">No event in the last 24 hours.</p>") : Html.Of($"""
                <table class="top">
                <thead><tr><th scope="col">{what}</th><th scope="col" class="num">Events</th><th scope="col" class="num">HTTP 403</th><th scope="col">Investigate</th></tr></thead>
                <tbody>{counts.Select(c => Html.Of($"""
                    <tr><td>{ConsoleFormat.Short(c.Value, 48)}</td><td class="num">{ConsoleFormat.Count(c.Events)}</td><td class="num{(c.Forbidden > 0 ? " bad" : "")}">{ConsoleFormat.Count(c.Forbidden)}</td>
                    <td><a href="{ConsoleLayout.Link("/audit-trail", ("project_id", projectId), (filter, c.Value), ("recorded_after", AuditEventJson.FormatTime(from)), ("recorded_before", AuditEventJson.FormatTime(to)))}">Events</a> · <a href="{ConsoleLayout.Link(IncidentPage.Path, ("project_id", projectId), ("from", AuditEventJson.FormatTime(from)), ("to", AuditEventJson.FormatTime(to)), (filter, c.Value))}">Timeline</a></td></tr>
                    """))}</tbody>
                </table>
                """))}
            </section>
            """);
        return Html.Of($"""
            <div class="columns">
            {Table("principals-title", "Top principals, last 24 hours", "Principal", "principal", activity.TopPrincipals)}
            {Table("ips-title", "Top source IPs, last 24 hours", "Source IP", "source_ip", activity.TopSourceIps)}
            </div>
            <p class="hint">Ranked by HTTP 403, then by events.</p>
            """);
    }

    private static Html Recent(IReadOnlyList<FiredAlert>? firings)
    {
        if (firings is null)
        {
            return Html.Empty;
        }

        var latest = firings.Take(RecentFirings).ToList();
        return Html.Of($"""
            <section aria-labelledby="recent-title">
            <h2 id="recent-title">Latest firings</h2>
            {(latest.Count == 0 ? Html.Of($"<p class=\"empty\">No firing in the last 7 days.</p>") : Html.Of($"""
                <table class="recent">
                <thead><tr><th scope="col">Triggered (UTC)</th><th scope="col">Alert</th><th scope="col">Severity</th><th scope="col">Region</th><th scope="col">Investigate</th></tr></thead>
                <tbody>{latest.Select(static a => Html.Of($"""
                    <tr><td class="time">{ConsoleFormat.Time(a.TriggeredAt)}</td><td><span class="alert-name">{a.Alert}</span>{(a.IsTest ? " [TEST]" : "")}</td><td><span class="severity {a.Severity.ToString().ToLowerInvariant()}">{a.Severity}</span></td><td>{a.Region}</td>
                    <td><a href="{IncidentPage.LinkFor(a)}">Timeline</a> · <a href="{AuditTrailLink.For("", a)}">Events</a></td></tr>
                    """))}</tbody>
                </table>
                """))}
            </section>
            """);
    }

    private static DateTimeOffset Ceiling(DateTimeOffset value, TimeSpan step) =>
        new(((value.UtcTicks + step.Ticks - 1) / step.Ticks) * step.Ticks, TimeSpan.Zero);
}
