using AuditOrleans.Grains;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// <c>/alerts/history</c>: fired alerts, newest first, with the delivery state per recipient (alone
/// or in a digest), the silence that held them, who took and closed them, and the forms to take
/// and close them (ManageAlerts; docs/alerts.md, Acknowledgement).
/// </summary>
public static class HistoryPage
{
    public const int DefaultLimit = QueryLimits.DefaultAlertHistory;

    /// <summary>Maps <c>GET /alerts/history</c>, <c>POST /alerts/history/take</c> and <c>POST /alerts/history/close</c>.</summary>
    public static void Map(IEndpointRouteBuilder app, AuditOrleansOptions options)
    {
        app.MapGet("/alerts/history", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => ShowAsync(page, grains, options)));
        app.MapPost("/alerts/history/take", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => AcknowledgeAsync(page, grains, FiringAction.Taken)));
        app.MapPost("/alerts/history/close", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => AcknowledgeAsync(page, grains, FiringAction.Closed)));
    }

    private static async Task<IResult> AcknowledgeAsync(ConsolePage page, IGrainFactory grains, FiringAction action)
    {
        const string title = "Alert history";
        var form = await page.Context.Request.ReadFormAsync(page.Context.RequestAborted);
        var (projectId, problem, status) = PageRequest.ResolveProject(page, PageRequest.Text(form["project_id"]), Permission.ViewAlertHistory);
        if (projectId is null)
        {
            return ConsoleLayout.Problem(page, title, problem ?? "The form names no project: open the Alert history tab again.", problem is null ? StatusCodes.Status400BadRequest : status, ConsoleTab.History);
        }

        if (!page.User!.Can(Permission.ManageAlerts, projectId))
        {
            return ConsoleLayout.Problem(page, title, $"Your key ({page.User.Role}) can view the alert history but not take or close firings: sign in with an Owner or AlertsManager key.", StatusCodes.Status403Forbidden, ConsoleTab.History);
        }

        var firingId = PageRequest.Text(form["firing_id"]) ?? "";
        var comment = PageRequest.Text(form["comment"]);
        FiredAlert? firing;
        try
        {
            PageRequest.ActAs(page);
            var grain = grains.GetGrain<IAlertAcknowledgementGrain>(projectId);
            firing = action == FiringAction.Taken ? await grain.TakeAsync(firingId, comment) : await grain.CloseAsync(firingId, comment ?? "");
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return ConsoleLayout.Problem(page, title, ex.Message, StatusCodes.Status400BadRequest, ConsoleTab.History);
        }

        if (firing is null)
        {
            return ConsoleLayout.Problem(page, title, $"Project '{projectId}' has no such firing: reload the Alert history tab.", StatusCodes.Status404NotFound, ConsoleTab.History);
        }

        return Results.Redirect(ConsoleLayout.Link("/alerts/history", ("project_id", projectId), ("region", PageRequest.Text(form["region"])), ("alert", PageRequest.Text(form["alert"])),
            (action == FiringAction.Taken ? "taken" : "closed", firing.Id)) + "#firing-" + firing.Id, permanent: false, preserveMethod: false);
    }

    private static async Task<IResult> ShowAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Alert history";
        var query = page.Context.Request.Query;
        var (projectId, problem, status) = PageRequest.ResolveProject(page, PageRequest.Text(query["project_id"]), Permission.ViewAlertHistory);
        var requestedRegion = PageRequest.Text(query["region"]);
        var region = requestedRegion is null ? null : Scope.NormalizeRegion(requestedRegion, options.Regions);
        var requestedAlert = PageRequest.Text(query["alert"]);
        AlertName? alert = requestedAlert is not null && AlertCatalog.TryParse(requestedAlert, out var a) ? a : null;
        var selector = Selector(projectId ?? PageRequest.Text(query["project_id"]) ?? "", PageRequest.ProjectEditable(page), region, alert, options.Regions);
        if (projectId is null)
        {
            var message = problem is null ? ConsoleLayout.Notice("Enter a project id to see its alert history.") : ConsoleLayout.Error(problem);
            return ConsoleLayout.Render(page, title, ConsoleTab.History, Html.Of($"{selector}{message}"), statusCode: status);
        }

        var errors = new List<string>();
        if (requestedRegion is not null && region is null)
        {
            errors.Add(Scope.DescribeUnknownRegion(requestedRegion, options.Regions));
        }

        if (requestedAlert is not null && alert is null)
        {
            errors.Add($"'{Scope.Printable(requestedAlert)}' is not an alert. Valid names: {AlertCatalog.ValidNames}.");
        }

        if (errors.Count > 0)
        {
            return ConsoleLayout.Render(page, title, ConsoleTab.History, Html.Of($"{selector}{errors.Select(ConsoleLayout.Error)}"), projectId, statusCode: StatusCodes.Status400BadRequest);
        }

        var silenceId = PageRequest.Text(query["silence_id"]);
        if (silenceId is not null && (silenceId.Length != 32 || !silenceId.All(Uri.IsHexDigit)))
        {
            return ConsoleLayout.Render(page, title, ConsoleTab.History, Html.Of($"{selector}{ConsoleLayout.Error("The silence id must be 32 hex digits (see the Silences tab).")}"), projectId, statusCode: StatusCodes.Status400BadRequest);
        }

        var history = await grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery
        {
            ProjectId = projectId,
            Region = region,
            Alert = alert,
            Limit = DefaultLimit,
            SilenceId = silenceId?.ToLowerInvariant(),
        });
        var done = PageRequest.Text(query["taken"]) is { } taken ? $"Firing {taken} taken."
            : PageRequest.Text(query["closed"]) is { } closed ? $"Firing {closed} closed."
            : silenceId is not null ? $"The firings held by silence {silenceId.ToLowerInvariant()}: recorded, nobody was emailed."
            : null;
        var actions = page.User!.Can(Permission.ManageAlerts, projectId) ? new Actions(page, projectId, region, alert) : null;
        var table = Table(history, AuditTrailLinkFor, actions, page.User!.Can(Permission.ViewEvents, projectId));
        return ConsoleLayout.Render(page, title, ConsoleTab.History, Html.Of($"{selector}{ConsoleLayout.Notice(done)}{table}"), projectId, region);
    }

    /// <summary>The link of the firing's email, relative to this site (the console may be reached by another name than Console:BaseUrl).</summary>
    private static string AuditTrailLinkFor(FiredAlert alert) => AuditTrailLink.For("", alert);

    public static Html Selector(string projectId, bool projectEditable, string? region, AlertName? alert, IReadOnlyCollection<string> regions)
    {
        var regionOptions = Html.Join(new[] { Html.Of($"<option value=\"\">All regions</option>") }.Concat(regions.Select(r => r == region
            ? Html.Of($"<option value=\"{r}\" selected>{r}</option>")
            : Html.Of($"<option value=\"{r}\">{r}</option>"))));
        var alertOptions = Html.Join(new[] { Html.Of($"<option value=\"\">All alerts</option>") }.Concat(AlertCatalog.All.Select(a => a.Name == alert
            ? Html.Of($"<option value=\"{a.Name}\" selected>{a.Name}</option>")
            : Html.Of($"<option value=\"{a.Name}\">{a.Name}</option>"))));
        var project = projectEditable
            ? Html.Of($"<input id=\"h-project\" name=\"project_id\" value=\"{projectId}\" required placeholder=\"project id\">")
            : Html.Of($"<input id=\"h-project\" name=\"project_id\" value=\"{projectId}\" readonly>");
        return Html.Of($"""
            <form method="get" action="/alerts/history" class="selector" aria-label="Filters">
              <label for="h-project">Project</label>{project}
              <label for="h-region">Region</label><select id="h-region" name="region">{regionOptions}</select>
              <label for="h-alert">Alert</label><select id="h-alert" name="alert">{alertOptions}</select>
              <button type="submit">Show</button>
            </form>
            """);
    }

    /// <summary>What the take and close forms of a row need: the page (anti-forgery), the project and the filters to come back to.</summary>
    public sealed record Actions(ConsolePage Page, string ProjectId, string? Region, AlertName? Alert);

    /// <summary>
    /// The history table. The Events and Timeline links open pages that need ViewEvents: a key
    /// without it (an AlertsManager) sees why instead of links that would be refused.
    /// </summary>
    public static Html Table(IReadOnlyList<FiredAlert> history, Func<FiredAlert, string> auditTrailLink, Actions? actions = null, bool canViewEvents = true)
    {
        if (history.Count == 0)
        {
            return Html.Of($"<p class=\"empty\">No alert has fired here yet.</p>");
        }

        var rows = history.Select(a => Html.Of($"""
            <tr id="firing-{a.Id}">
              <td class="time"><time datetime="{ConsoleLayout.Time(a.TriggeredAt)}">{ConsoleLayout.Time(a.TriggeredAt)}</time></td>
              <td><span class="alert-name">{AlertCatalog.DisplayName(a)}</span>{Markers(a)}<div class="description">{AlertCatalog.Describe(a).Description}</div></td>
              <td><span class="severity {a.Severity.ToString().ToLowerInvariant()}">{a.Severity}</span></td>
              <td>{a.Region}</td>
              <td>{Facts(a)}</td>
              <td>{Deliveries(a.Deliveries)}</td>
              <td>{Status(a, actions)}</td>
              <td>{(canViewEvents
                  ? Html.Of($"<a href=\"{auditTrailLink(a)}\">Events</a> · <a href=\"{IncidentPage.LinkFor(a)}\">Timeline</a>")
                  : Html.Of($"<span class=\"hint\" title=\"The events and the timeline need the ViewEvents permission on this project.\">needs ViewEvents</span>"))}</td>
            </tr>
            """));
        return Html.Of($"""
            <table class="history">
            <thead><tr><th scope="col">Triggered (UTC)</th><th scope="col">Alert</th><th scope="col">Severity</th><th scope="col">Region</th><th scope="col">Facts</th><th scope="col">Delivery</th><th scope="col">Status</th><th scope="col">Investigate</th></tr></thead>
            <tbody>
            {rows}
            </tbody>
            </table>
            """);
    }

    /// <summary>[TEST], [UPDATE], [RESOLVED], [LATE], [BACKFILL] after the alert's name (docs/alerts.md, Episodes; Backfill and late events).</summary>
    private static Html Markers(FiredAlert a)
    {
        var markers = new List<string>();
        if (a.IsTest)
        {
            markers.Add("[TEST]");
        }

        if (a.Kind != AlertKind.Firing)
        {
            markers.Add($"[{a.Kind.ToString().ToUpperInvariant()}]");
        }

        if (a.IsLate)
        {
            markers.Add("[LATE]");
        }

        if (a.IsBackfill)
        {
            markers.Add("[BACKFILL]");
        }

        return Html.Join(markers.Select(static m => Html.Of($" <span class=\"test\">{m}</span>")));
    }

    private static Html Facts(FiredAlert a)
    {
        var f = a.Facts;
        var items = new List<Html>
        {
            Html.Of($"<li>Time frame {ConsoleLayout.Time(a.WindowStart)} to {ConsoleLayout.Time(a.WindowEnd)}</li>"),
        };
        if (a.Kind != AlertKind.Firing && a.EpisodeId is { } episode)
        {
            items.Add(Html.Of($"<li>Episode opened by firing {episode}</li>"));
        }

        if (f.Change is { Length: > 0 } change)
        {
            items.Add(Html.Of($"<li>Changed: {change}</li>"));
        }

        if (a.IsLate)
        {
            items.Add(Html.Of($"<li>Late: happened {ConsoleLayout.Time(a.EventTime)}, arrived {ConsoleLayout.Time(a.TriggeredAt)}</li>"));
        }

        if (f.ForbiddenCount is { } count)
        {
            items.Add(a.Kind == AlertKind.Firing
                ? Html.Of($"<li>{count} HTTP 403 in 5 minutes</li>")
                : Html.Of($"<li>{count} HTTP 403 in the episode</li>"));
        }

        if (f.TopPrincipals.Count > 0)
        {
            items.Add(Html.Of($"<li>Top principals: {string.Join(", ", f.TopPrincipals.Select(static p => $"{p.Value} ({p.Count})"))}</li>"));
        }

        if (f.TopSourceIps.Count > 0)
        {
            items.Add(Html.Of($"<li>Top source IPs: {string.Join(", ", f.TopSourceIps.Select(static p => $"{p.Value} ({p.Count})"))}</li>"));
        }

        if (f.ApiKeyId is not null)
        {
            items.Add(Html.Of($"<li>API key <code>{f.ApiKeyId}</code></li>"));
        }

        if (f.ForbiddenCount is null && f.PrincipalId is not null)
        {
            items.Add(Html.Of($"<li>Principal {f.PrincipalId}</li>"));
        }

        if (f.ForbiddenCount is null && f.SourceIp is not null)
        {
            items.Add(Html.Of($"<li>Source IP <code>{f.SourceIp}</code></li>"));
        }

        if (f.MethodName is not null)
        {
            items.Add(Html.Of($"<li>{f.MethodName} → {f.StatusCode}</li>"));
        }

        if (f.EventId is not null)
        {
            items.Add(Html.Of($"<li>Event <code>{f.EventId}</code></li>"));
        }

        return Html.Of($"<ul class=\"facts\">{items}</ul>");
    }

    /// <summary>Where the firing stands (open, taken, closed, silenced), every step with its key, time and comment, and the forms to take and close it.</summary>
    private static Html Status(FiredAlert a, Actions? actions)
    {
        var steps = a.Acknowledgements.Select(static k => Html.Of($"""
            <li>{(k.Action == FiringAction.Taken ? "taken" : "closed")} by key <code>{k.KeyId}</code> at <time datetime="{ConsoleLayout.Time(k.At)}">{ConsoleLayout.Time(k.At)}</time>{(k.Comment is null ? Html.Empty : Html.Of($"<div class=\"comment\">{k.Comment}</div>"))}</li>
            """)).ToList();
        var silenced = a.SilenceId is null
            ? Html.Empty
            : Html.Of($"<div class=\"detail\">held by silence <a href=\"{ConsoleLayout.Link("/alerts/silences", ("project_id", a.ProjectId), ("all", "1"))}#silence-{a.SilenceId}\"><code>{a.SilenceId}</code></a></div>");
        var forms = Html.Empty;
        if (actions is not null && a.Status != FiringStatus.Closed)
        {
            forms = Html.Of($"""
                <form method="post" action="/alerts/history/take" class="inline-form" aria-label="Take firing {a.Id}">
                  {actions.Page.AntiforgeryField()}{Hidden(actions, a)}
                  <input name="comment" placeholder="comment (optional)" aria-label="Comment" maxlength="{SilenceLimits.MaxCommentLength}">
                  <button type="submit">Take</button>
                </form>
                <form method="post" action="/alerts/history/close" class="inline-form" aria-label="Close firing {a.Id}">
                  {actions.Page.AntiforgeryField()}{Hidden(actions, a)}
                  <input name="comment" placeholder="what was found and done" aria-label="Comment" required maxlength="{SilenceLimits.MaxCommentLength}">
                  <button type="submit">Close</button>
                </form>
                """);
        }

        return Html.Of($"""
            <span class="firing-status {a.Status.ToString().ToLowerInvariant()}">{a.Status}</span>{silenced}{(steps.Count == 0 ? Html.Empty : Html.Of($"<ul class=\"steps\">{Html.Join(steps)}</ul>"))}{forms}
            """);

        static Html Hidden(Actions actions, FiredAlert a) => Html.Of($"""
            <input type="hidden" name="project_id" value="{actions.ProjectId}"><input type="hidden" name="firing_id" value="{a.Id}"><input type="hidden" name="region" value="{actions.Region}"><input type="hidden" name="alert" value="{actions.Alert?.ToString()}">
            """);
    }

    private static Html Deliveries(IReadOnlyList<AlertDelivery> deliveries)
    {
        if (deliveries.Count == 0)
        {
            return Html.Of($"<span class=\"none\">no Security contact: nobody was notified</span>");
        }

        var items = deliveries.Select(static d =>
        {
            var detail = d.State switch
            {
                DeliveryState.Delivered => $"delivered {ConsoleLayout.Time(d.DeliveredAt)}",
                DeliveryState.Failed => $"failed after {d.Attempts} attempt(s)",
                DeliveryState.Retrying => $"attempt {d.Attempts} failed, next at {ConsoleLayout.Time(d.NextAttemptAt)}",
                DeliveryState.Silenced => "held by a silence: not sent",
                _ => d.NextAttemptAt is { } next ? $"due {ConsoleLayout.Time(next)}" : "due",
            } + (d.DigestId is { } digest ? $" (in digest {digest})" : "");
            return Html.Of($"""
                <li><span class="recipient">{(d.Channel == "webhook" ? $"webhook {d.Target ?? d.Recipient + " (removed)"}" : d.Recipient)}</span> <span class="delivery {d.State.ToString().ToLowerInvariant()}">{d.State}</span> <span class="detail">{detail}</span>{(d.LastError is null || d.State == DeliveryState.Delivered ? Html.Empty : Html.Of($"<div class=\"last-error\">{d.LastError}</div>"))}</li>
                """);
        });
        return Html.Of($"<ul class=\"deliveries\">{items}</ul>");
    }
}
