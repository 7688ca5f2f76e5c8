using AuditOrleans.Grains;

namespace AuditOrleans.Silo.WebConsole;

/// <summary><c>/alerts/history</c>: fired alerts, newest first, with the delivery state per recipient.</summary>
public static class HistoryPage
{
    public const int DefaultLimit = QueryLimits.DefaultAlertHistory;

    /// <summary>Maps <c>GET /alerts/history</c>.</summary>
    public static void Map(IEndpointRouteBuilder app, AuditOrleansOptions options) =>
        app.MapGet("/alerts/history", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => ShowAsync(page, grains, options)));

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

        var history = await grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery
        {
            ProjectId = projectId,
            Region = region,
            Alert = alert,
            Limit = DefaultLimit,
        });
        var table = Table(history, AuditTrailLinkFor);
        return ConsoleLayout.Render(page, title, ConsoleTab.History, Html.Of($"{selector}{table}"), projectId, region);
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

    public static Html Table(IReadOnlyList<FiredAlert> history, Func<FiredAlert, string> auditTrailLink)
    {
        if (history.Count == 0)
        {
            return Html.Of($"<p class=\"empty\">No alert has fired here yet.</p>");
        }

        var rows = history.Select(a => Html.Of($"""
            <tr>
              <td class="time"><time datetime="{ConsoleLayout.Time(a.TriggeredAt)}">{ConsoleLayout.Time(a.TriggeredAt)}</time></td>
              <td><span class="alert-name">{a.Alert}</span>{Markers(a)}<div class="description">{AlertCatalog.Get(a.Alert).Description}</div></td>
              <td><span class="severity {a.Severity.ToString().ToLowerInvariant()}">{a.Severity}</span></td>
              <td>{a.Region}</td>
              <td>{Facts(a)}</td>
              <td>{Deliveries(a.Deliveries)}</td>
              <td><a href="{auditTrailLink(a)}">Events</a></td>
            </tr>
            """));
        return Html.Of($"""
            <table class="history">
            <thead><tr><th scope="col">Triggered (UTC)</th><th scope="col">Alert</th><th scope="col">Severity</th><th scope="col">Region</th><th scope="col">Facts</th><th scope="col">Delivery</th><th scope="col">Audit trail</th></tr></thead>
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
                _ => d.NextAttemptAt is { } next ? $"due {ConsoleLayout.Time(next)}" : "due",
            };
            return Html.Of($"""
                <li><span class="recipient">{d.Recipient}</span> <span class="delivery {d.State.ToString().ToLowerInvariant()}">{d.State}</span> <span class="detail">{detail}</span>{(d.LastError is null || d.State == DeliveryState.Delivered ? Html.Empty : Html.Of($"<div class=\"last-error\">{d.LastError}</div>"))}</li>
                """);
        });
        return Html.Of($"<ul class=\"deliveries\">{items}</ul>");
    }
}
