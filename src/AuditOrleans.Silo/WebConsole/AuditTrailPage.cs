using System.Globalization;
using System.Net;
using AuditOrleans.Grains;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// <c>/audit-trail</c>: the project's events, newest first, filtered and paged. The alert
/// emails link here with the firing's project, region and time frame (docs/alerts.md, Audit-log link).
/// </summary>
public static class AuditTrailPage
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;

    /// <summary>Maps <c>GET /audit-trail</c>.</summary>
    public static void Map(IEndpointRouteBuilder app, AuditOrleansOptions options) =>
        app.MapGet("/audit-trail", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => ShowAsync(page, grains, options)));

    private static async Task<IResult> ShowAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Audit Trail";
        var filters = Filters.From(page.Context.Request.Query);
        var (projectId, problem, status) = PageRequest.ResolveProject(page, filters.ProjectId, Permission.ViewEvents);
        var form = Form(filters, projectId ?? filters.ProjectId, PageRequest.ProjectEditable(page), options.Regions);
        if (projectId is null)
        {
            var message = problem is null ? ConsoleLayout.Notice("Enter a project id to see its events.") : ConsoleLayout.Error(problem);
            return ConsoleLayout.Render(page, title, ConsoleTab.AuditTrail, Html.Of($"{form}{message}"), statusCode: status);
        }

        filters = filters with { ProjectId = projectId };
        var (query, errors) = Parse(filters, projectId, options.Regions);
        if (query is null)
        {
            return ConsoleLayout.Render(page, title, ConsoleTab.AuditTrail, Html.Of($"{form}{errors.Select(ConsoleLayout.Error)}"), projectId, filters.Region, StatusCodes.Status400BadRequest);
        }

        try
        {
            var result = await grains.GetGrain<IAuditLogGrain>(0).QueryAsync(query);
            return ConsoleLayout.Render(page, title, ConsoleTab.AuditTrail, Html.Of($"{form}{Results(filters, query, result)}"), projectId, query.Region);
        }
        catch (ArgumentException ex)
        {
            return ConsoleLayout.Render(page, title, ConsoleTab.AuditTrail, Html.Of($"{form}{ConsoleLayout.Error(ex.Message)}"), projectId, filters.Region, StatusCodes.Status400BadRequest);
        }
    }

    /// <summary>The filters as given in the query string (text, for the form) and as parsed.</summary>
    public sealed record Filters
    {
        public string? ProjectId { get; init; }
        public string? Region { get; init; }
        public string? RecordedAfter { get; init; }
        public string? RecordedBefore { get; init; }
        public string? StatusCode { get; init; }
        public string? StatusClass { get; init; }
        public string? MethodName { get; init; }
        public string? Principal { get; init; }
        public string? SourceIp { get; init; }
        public string? Product { get; init; }
        public string? ResourceId { get; init; }
        public string? Kind { get; init; }
        public string? Continuation { get; init; }
        public string? PageSize { get; init; }

        public static Filters From(IQueryCollection q) => new()
        {
            ProjectId = Value(q, "project_id"),
            Region = Value(q, "region"),
            RecordedAfter = Value(q, "recorded_after"),
            RecordedBefore = Value(q, "recorded_before"),
            StatusCode = Value(q, "status_code"),
            StatusClass = Value(q, "status_class"),
            MethodName = Value(q, "method_name"),
            Principal = Value(q, "principal") ?? Value(q, "principal_id"),
            SourceIp = Value(q, "source_ip"),
            Product = Value(q, "product") ?? Value(q, "product_name"),
            ResourceId = Value(q, "resource_id"),
            Kind = Value(q, "kind"),
            Continuation = Value(q, "continuation"),
            PageSize = Value(q, "page_size"),
        };

        /// <summary>The link to this query, optionally at another page.</summary>
        public string Link(string? continuation) => LinkTo("/audit-trail", continuation, ("page_size", PageSize));

        /// <summary>The download of this query's whole result (every page) as <c>jsonl</c> or <c>csv</c>.</summary>
        public string ExportLink(string format) => LinkTo(AuditTrailExport.Path, null, ("format", format));

        private string LinkTo(string path, string? continuation, (string, string?) extra) => ConsoleLayout.Link(
            path,
            ("project_id", ProjectId),
            ("region", Region),
            ("recorded_after", RecordedAfter),
            ("recorded_before", RecordedBefore),
            ("status_code", StatusCode),
            ("status_class", StatusClass),
            ("method_name", MethodName),
            ("principal", Principal),
            ("source_ip", SourceIp),
            ("product", Product),
            ("resource_id", ResourceId),
            ("kind", Kind),
            extra,
            ("continuation", continuation));

        private static string? Value(IQueryCollection q, string name) =>
            q.TryGetValue(name, out var v) && v.ToString().Trim() is { Length: > 0 } text ? text : null;
    }

    /// <summary>Turns the filters into a query; the errors say which filter is wrong and how to write it.</summary>
    public static (AuditQuery? Query, List<string> Errors) Parse(Filters f, string projectId, IReadOnlyCollection<string> regions)
    {
        var errors = new List<string>();
        string? region = null;
        if (f.Region is not null)
        {
            region = Scope.NormalizeRegion(f.Region, regions);
            if (region is null)
            {
                errors.Add(Scope.DescribeUnknownRegion(f.Region, regions));
            }
        }

        var after = ParseTime("recorded_after", f.RecordedAfter, errors);
        var before = ParseTime("recorded_before", f.RecordedBefore, errors);
        if (after is { } a && before is { } b && a > b)
        {
            errors.Add($"recorded_after ({ConsoleLayout.Time(a)}) is later than recorded_before ({ConsoleLayout.Time(b)}): swap them.");
        }

        int? status = null;
        int? statusClass = ParseStatusClass(f.StatusClass, "status_class", errors);
        if (f.StatusCode is not null && f.StatusCode.Length == 3 && f.StatusCode.EndsWith("xx", StringComparison.OrdinalIgnoreCase))
        {
            // status_code=4xx: a class typed where a code was expected.
            statusClass ??= ParseStatusClass(f.StatusCode, "status_code", errors);
        }
        else if (f.StatusCode is not null)
        {
            if (int.TryParse(f.StatusCode, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s is >= 100 and <= 599)
            {
                status = s;
            }
            else
            {
                errors.Add($"status_code '{Scope.Printable(f.StatusCode)}' is not an HTTP status: use a number from 100 to 599, e.g. 403, or a class such as 4xx.");
            }
        }

        if (f.SourceIp is not null && !IPAddress.TryParse(f.SourceIp, out _))
        {
            errors.Add($"source_ip '{Scope.Printable(f.SourceIp)}' is not an IPv4 or IPv6 address.");
        }

        var pageSize = DefaultPageSize;
        if (f.PageSize is not null && (!int.TryParse(f.PageSize, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > MaxPageSize))
        {
            errors.Add($"page_size '{Scope.Printable(f.PageSize)}' is out of range: use 1 to {MaxPageSize}.");
        }

        EventKind? kind = null;
        if (f.Kind is not null)
        {
            if (EventKinds.TryParse(f.Kind, out var parsedKind))
            {
                kind = parsedKind;
            }
            else
            {
                errors.Add($"kind '{Scope.Printable(f.Kind)}' is not an event kind: use api, authentication or system.");
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new AuditQuery
        {
            Kind = kind,
            ProjectId = projectId,
            Region = region,
            RecordedAfter = after,
            RecordedBefore = before,
            StatusCode = status,
            StatusClass = statusClass,
            MethodName = f.MethodName,
            PrincipalId = f.Principal,
            SourceIp = f.SourceIp,
            ProductName = f.Product,
            ResourceId = f.ResourceId,
            Order = SortOrder.NewestFirst,
            PageSize = pageSize,
            ContinuationToken = f.Continuation,
        }, errors);
    }

    private static int? ParseStatusClass(string? text, string name, List<string> errors)
    {
        if (text is null)
        {
            return null;
        }

        var digit = text.Length is 1 or 3 ? text[0] - '0' : 0;
        if (digit is >= 1 and <= 5 && (text.Length == 1 || text[1..].Equals("xx", StringComparison.OrdinalIgnoreCase)))
        {
            return digit;
        }

        errors.Add($"{name} '{Scope.Printable(text)}' is not a status class: use 1xx, 2xx, 3xx, 4xx or 5xx.");
        return null;
    }

    public static Html Form(Filters f, string? projectId, bool projectEditable, IReadOnlyCollection<string> regions)
    {
        var regionOptions = Html.Join(new[] { Html.Of($"<option value=\"\">All regions</option>") }.Concat(regions.Select(r =>
            string.Equals(r, f.Region, StringComparison.OrdinalIgnoreCase)
                ? Html.Of($"<option value=\"{r}\" selected>{r}</option>")
                : Html.Of($"<option value=\"{r}\">{r}</option>"))));
        var classOptions = Html.Join(new[] { Html.Of($"<option value=\"\">Any</option>") }.Concat(new[] { "2xx", "3xx", "4xx", "5xx" }.Select(c =>
            string.Equals(c, f.StatusClass, StringComparison.OrdinalIgnoreCase) || (f.StatusClass?.Length == 1 && c[0] == f.StatusClass[0])
                ? Html.Of($"<option value=\"{c}\" selected>{c}</option>")
                : Html.Of($"<option value=\"{c}\">{c}</option>"))));
        var project = projectEditable
            ? Html.Of($"<input id=\"f-project\" name=\"project_id\" value=\"{projectId}\" required placeholder=\"project id\">")
            : Html.Of($"<input id=\"f-project\" name=\"project_id\" value=\"{projectId}\" readonly>");
        return Html.Of($"""
            <form method="get" action="/audit-trail" class="filters" aria-label="Filters">
              <label for="f-project">Project</label>{project}
              <label for="f-region">Region</label><select id="f-region" name="region">{regionOptions}</select>
              <label for="f-after">Recorded after (UTC)</label><input type="datetime-local" step="0.001" id="f-after" name="recorded_after" value="{Canonical(f.RecordedAfter, false)}" aria-describedby="f-time-hint">
              <label for="f-before">Recorded before (UTC)</label><input type="datetime-local" step="0.001" id="f-before" name="recorded_before" value="{Canonical(f.RecordedBefore, true)}" aria-describedby="f-time-hint">
              <label for="f-status">Status code</label><input id="f-status" name="status_code" value="{f.StatusCode}" placeholder="403">
              <label for="f-class">Status class</label><select id="f-class" name="status_class">{classOptions}</select>
              <label for="f-method">Method</label><input id="f-method" name="method_name" value="{f.MethodName}" placeholder="CreateAPIKey">
              <label for="f-principal">Principal</label><input id="f-principal" name="principal" value="{f.Principal}">
              <label for="f-ip">Source IP</label><input id="f-ip" name="source_ip" value="{f.SourceIp}">
              <label for="f-product">Product</label><input id="f-product" name="product" value="{f.Product}" placeholder="iam">
              <label for="f-resource">Resource id</label><input id="f-resource" name="resource_id" value="{f.ResourceId}">
              <label for="f-kind">Kind</label><select id="f-kind" name="kind">{KindOptions(f.Kind)}</select>
              <div class="actions"><button type="submit">Apply filters</button> <a href="{ConsoleLayout.Link("/audit-trail", ("project_id", projectId))}">Clear</a> <span class="hint" id="f-time-hint">Times are UTC (+00:00), both bounds included; without them, the last hour.</span></div>
            </form>
            """);
    }

    public static Html Results(Filters f, AuditQuery query, AuditPage page)
    {
        var range = query.RecordedAfter is null && query.RecordedBefore is null
            ? "in the last hour (no time range given)"
            : $"recorded from {(query.RecordedAfter is { } a ? ConsoleFormat.Readable(a) : "one hour before the end")} to {(query.RecordedBefore is { } b ? ConsoleFormat.Readable(b) : "now")}";
        var downloads = Html.Of($"""
            <nav class="downloads" aria-label="Download and investigate">
              Download every matching event: <a href="{f.ExportLink("jsonl")}" download>JSON lines</a> · <a href="{f.ExportLink("csv")}" download>CSV</a>
              · <a href="{IncidentPage.LinkFor(f, query)}">Incident timeline of this range</a>
            </nav>
            """);
        var summary = Html.Of($"<p class=\"summary\">{page.Records.Count} event(s){(page.ContinuationToken is null ? "" : " on this page")} {range}, newest first{(query.ContinuationToken is null ? "" : " (continued)")}.</p>{downloads}");
        if (page.Records.Count == 0)
        {
            return Html.Of($"{summary}<p class=\"empty\">No event matches these filters.</p>");
        }

        var rows = page.Records.Select(static r => Row(r));
        var pager = Html.Of($"""
            <nav class="pager" aria-label="Pages">
              {(f.Continuation is null ? Html.Empty : Html.Of($"<a href=\"{f.Link(null)}\">First page</a>"))}
              {(page.ContinuationToken is null ? Html.Empty : Html.Of($"<a href=\"{f.Link(page.ContinuationToken)}\" rel=\"next\">Older events</a>"))}
            </nav>
            """);
        return Html.Of($"""
            {summary}
            <table class="events">
            <caption class="visually-hidden">Events, newest first</caption>
            <colgroup><col class="c-time"><col class="c-principal"><col class="c-ip"><col class="c-call"><col class="c-status"><col class="c-resources"><col class="c-ua"><col class="c-event"></colgroup>
            <thead><tr><th scope="col">Time (UTC)</th><th scope="col">Principal</th><th scope="col">Source IP</th><th scope="col">Product / service / method</th><th scope="col">Status</th><th scope="col">Resources</th><th scope="col">User agent</th><th scope="col">Event</th></tr></thead>
            <tbody>
            {rows}
            </tbody>
            </table>
            {pager}
            """);
    }

    /// <summary>Long values are shortened here (their whole text is the tooltip, and on the event's page).</summary>
    public const int ShortText = 60;

    private static Html Row(AuditRecord r)
    {
        var e = r.Event;
        var shown = e.Resources?.Take(2).ToList() ?? [];
        var resources = shown.Count > 0
            ? Html.Join(shown.Select(static x => Html.Of($"<div class=\"res\"><span class=\"type\">{x.Type}</span> <code>{ConsoleFormat.Short(x.Id, 40)}</code>{(x.Name is null ? Html.Empty : Html.Of($" <span class=\"name\">{ConsoleFormat.Short(x.Name, 40)}</span>"))}</div>"))
                .Append(e.Resources!.Count > shown.Count ? Html.Of($"<div class=\"more\">and {e.Resources.Count - shown.Count} more</div>") : Html.Empty))
            : Html.Of($"<span class=\"none\">none</span>");
        var detail = EventDetailPage.Link(r);
        return Html.Of($"""
            <tr>
              <td class="time">{ConsoleFormat.Time(e.RecordedAt ?? r.IngestedAt)}<div class="region">{r.Region}</div></td>
              <td>{ConsoleFormat.Short(e.PrincipalId, ShortText, "anonymous")}</td>
              <td><code>{Or(e.SourceIp, "none")}</code></td>
              <td>{What(e)}</td>
              <td>{ConsoleFormat.Status(e.StatusCode)}</td>
              <td>{resources}</td>
              <td class="ua">{ConsoleFormat.Short(e.UserAgent, ShortText)}</td>
              <td class="id"><code>{e.Id}</code><div><a href="{detail}">Details<span class="visually-hidden"> of event {e.Id}</span></a></div></td>
            </tr>
            """);
    }

    private static Html Or(string? value, string absent) =>
        string.IsNullOrEmpty(value) ? Html.Of($"<span class=\"none\">{absent}</span>") : Html.Of($"{value}");

    private static DateTimeOffset? ParseTime(string name, string? text, List<string> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (AuditEventJson.ParseTime(text) is { } value)
        {
            return value;
        }

        errors.Add($"{name} '{Scope.Printable(text)}' is not an ISO 8601 time: use e.g. 2026-11-23T09:00:00Z (UTC), or with an offset such as +01:00.");
        return null;
    }

    /// <summary>A time filter as the form's date-time input shows it: UTC without offset when it parses, as typed otherwise.</summary>
    private static string? Canonical(string? text, bool upperBound) =>
        text is not null && AuditEventJson.ParseTime(text) is { } value ? ConsoleFormat.InputTime(value, upperBound) : text;

    /// <summary>The product, service and method of an API event; the sign-in or the system action of the other kinds (docs/events.md, Event kinds).</summary>
    private static Html What(AuditEvent e) => e.Kind switch
    {
        EventKind.Authentication => Html.Of($"<div><span class=\"tag\">sign-in</span> {e.Method}</div><div class=\"method\">{e.Result}{(e.FailureReason is null ? "" : " · " + e.FailureReason)}{(e.CountryCode is null ? "" : " · " + e.CountryCode)}</div>"),
        EventKind.System => Html.Of($"<div><span class=\"tag\">system</span> {e.ProductName}</div><div class=\"method\">{e.SystemKind} · {ConsoleFormat.Short(e.SystemName, ShortText)}</div>"),
        _ => Html.Of($"<div>{e.ProductName} · <span class=\"service\">{ConsoleFormat.Short(e.ServiceName, 40)}</span></div><div class=\"method\">{ConsoleFormat.Short(e.MethodName, ShortText)}</div>"),
    };

    private static Html KindOptions(string? selected)
    {
        EventKind? current = selected is not null && EventKinds.TryParse(selected, out var k) ? k : null;
        var options = new List<Html> { Html.Of($"<option value=\"\">Every kind</option>") };
        foreach (var kind in Enum.GetValues<EventKind>())
        {
            var value = EventKinds.ToColumn(kind);
            options.Add(kind == current
                ? Html.Of($"<option value=\"{value}\" selected>{kind}</option>")
                : Html.Of($"<option value=\"{value}\">{kind}</option>"));
        }

        return Html.Join(options);
    }
}
