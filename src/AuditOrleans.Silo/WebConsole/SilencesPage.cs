using System.Globalization;
using AuditOrleans.Grains;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// <c>/alerts/silences</c>: a project's silences and maintenance windows with their state now
/// (pending, active, waiting, expired, ended), what they held and who made and ended them; a
/// form to create one and a button to end one (docs/alerts.md, Silences). Creating and ending
/// need ManageAlerts; listing needs ViewAlerts.
/// </summary>
public static class SilencesPage
{
    private const string Title = "Silences";

    /// <summary>The zones offered in the form's list (any IANA id may be typed).</summary>
    private static readonly string[] SuggestedZones = ["UTC", "Europe/Paris", "Europe/Amsterdam", "Europe/Warsaw", "Europe/London", "America/New_York", "Asia/Tokyo"];

    /// <summary>Maps <c>GET /alerts/silences</c> (list and form), <c>POST /alerts/silences</c> (create) and <c>POST /alerts/silences/end</c>.</summary>
    public static void Map(IEndpointRouteBuilder app, AuditOrleansOptions options)
    {
        app.MapGet("/alerts/silences", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => ShowAsync(page, grains, options)));
        app.MapPost("/alerts/silences", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => CreateAsync(page, grains, options)));
        app.MapPost("/alerts/silences/end", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => EndAsync(page, grains)));
    }

    private static async Task<IResult> ShowAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        var query = page.Context.Request.Query;
        var (projectId, problem, status) = PageRequest.ResolveProject(page, PageRequest.Text(query["project_id"]), Permission.ViewAlerts);
        var showAll = PageRequest.Text(query["all"]) == "1";
        var selector = Selector(projectId ?? PageRequest.Text(query["project_id"]) ?? "", PageRequest.ProjectEditable(page), showAll);
        if (projectId is null)
        {
            var message = problem is null ? ConsoleLayout.Notice("Enter a project id to see its silences.") : ConsoleLayout.Error(problem);
            return ConsoleLayout.Render(page, Title, ConsoleTab.Silences, Html.Of($"{selector}{message}"), statusCode: status);
        }

        var silences = await grains.GetGrain<IAlertSilenceGrain>(projectId).ListAsync(showAll);
        var canManage = page.User!.Can(Permission.ManageAlerts, projectId);
        var done = PageRequest.Text(query["created"]) is { } created ? $"Silence {created} created."
            : PageRequest.Text(query["ended"]) is { } ended ? $"Silence {ended} ended: its alerts are emailed again from the next firing on."
            : null;
        var form = canManage
            ? Form(page, projectId, options.Regions)
            : Html.Of($"<p class=\"notice\" role=\"note\">Your key ({page.User.Role}) can view silences but not create or end them. Sign in with an Owner or AlertsManager key to do so.</p>");
        return ConsoleLayout.Render(page, Title, ConsoleTab.Silences, Html.Of($"{selector}{ConsoleLayout.Notice(done)}{Table(page, projectId, silences, canManage, showAll)}{form}"), projectId);
    }

    private static async Task<IResult> CreateAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        var form = await page.Context.Request.ReadFormAsync(page.Context.RequestAborted);
        var (projectId, problem) = Authorize(page, PageRequest.Text(form["project_id"]));
        if (projectId is null)
        {
            return problem!;
        }

        var (request, error) = ReadRequest(form, options.Regions);
        if (error is not null)
        {
            return ConsoleLayout.Problem(page, Title, error, StatusCodes.Status400BadRequest, ConsoleTab.Silences);
        }

        AlertSilence silence;
        try
        {
            PageRequest.ActAs(page);
            silence = await grains.GetGrain<IAlertSilenceGrain>(projectId).CreateAsync(request!);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return ConsoleLayout.Problem(page, Title, ex.Message, StatusCodes.Status400BadRequest, ConsoleTab.Silences);
        }

        return Results.Redirect(ConsoleLayout.Link("/alerts/silences", ("project_id", projectId), ("created", silence.Id)), permanent: false, preserveMethod: false);
    }

    private static async Task<IResult> EndAsync(ConsolePage page, IGrainFactory grains)
    {
        var form = await page.Context.Request.ReadFormAsync(page.Context.RequestAborted);
        var (projectId, problem) = Authorize(page, PageRequest.Text(form["project_id"]));
        if (projectId is null)
        {
            return problem!;
        }

        AlertSilence? silence;
        try
        {
            PageRequest.ActAs(page);
            silence = await grains.GetGrain<IAlertSilenceGrain>(projectId).EndAsync(PageRequest.Text(form["silence_id"]) ?? "", PageRequest.Text(form["comment"]));
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return ConsoleLayout.Problem(page, Title, ex.Message, StatusCodes.Status400BadRequest, ConsoleTab.Silences);
        }

        if (silence is null)
        {
            return ConsoleLayout.Problem(page, Title, $"Project '{projectId}' has no such silence: reload the Silences tab.", StatusCodes.Status404NotFound, ConsoleTab.Silences);
        }

        return Results.Redirect(ConsoleLayout.Link("/alerts/silences", ("project_id", projectId), ("ended", silence.Id)), permanent: false, preserveMethod: false);
    }

    /// <summary>The project of a posted form when the user may manage its alerts; otherwise the page that says why.</summary>
    private static (string? ProjectId, IResult? Problem) Authorize(ConsolePage page, string? requested)
    {
        var (projectId, problem, status) = PageRequest.ResolveProject(page, requested, Permission.ViewAlerts);
        if (projectId is null)
        {
            return (null, ConsoleLayout.Problem(page, Title, problem ?? "The form names no project: open the Silences tab again.", problem is null ? StatusCodes.Status400BadRequest : status, ConsoleTab.Silences));
        }

        return page.User!.Can(Permission.ManageAlerts, projectId)
            ? (projectId, null)
            : (null, ConsoleLayout.Problem(page, Title, $"Your key ({page.User.Role}) can view silences but not create or end them: sign in with an Owner or AlertsManager key.", StatusCodes.Status403Forbidden, ConsoleTab.Silences));
    }

    /// <summary>The silence a posted form asks for, or what is wrong with it (the silo checks the rest).</summary>
    public static (AlertSilenceRequest? Request, string? Error) ReadRequest(IFormCollection form, IReadOnlyCollection<string> regions)
    {
        var alerts = new List<AlertName>();
        foreach (var value in form["alert"])
        {
            if (!AlertCatalog.TryParse(value, out var name))
            {
                return (null, $"'{Scope.Printable(value)}' is not an alert. Valid names: {AlertCatalog.ValidNames}.");
            }

            alerts.Add(name);
        }

        var rules = new List<string>();
        foreach (var part in (PageRequest.Text(form["rules"]) ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!RuleLimits.IsValidName(part))
            {
                return (null, $"The rule name '{Scope.Printable(part, 60)}' is not valid: give rule names (letters, digits, '-', '_' or '.') separated by commas.");
            }

            rules.Add(part);
        }

        if (alerts.Count == 0 && rules.Count == 0)
        {
            return (null, "Tick the alerts the silence holds, or name custom rules.");
        }

        var region = PageRequest.Text(form["region"]);
        if (region is not null && Scope.NormalizeRegion(region, regions) is null)
        {
            return (null, Scope.DescribeUnknownRegion(region, regions));
        }

        if (!PageRequest.TryReadUtc(PageRequest.Text(form["starts_at"]), out var starts) || !PageRequest.TryReadUtc(PageRequest.Text(form["ends_at"]), out var ends))
        {
            return (null, "The start and the end must be times (UTC), for example 2026-11-23T22:00.");
        }

        TimeSpan? duration = null;
        if (PageRequest.Text(form["duration_minutes"]) is { } minutesText)
        {
            if (!int.TryParse(minutesText, NumberStyles.None, CultureInfo.InvariantCulture, out var minutes) || minutes < 1)
            {
                return (null, $"The duration '{Scope.Printable(minutesText)}' is not a number of minutes (1 or more).");
            }

            duration = TimeSpan.FromMinutes(minutes);
        }

        WeeklyWindow? weekly = null;
        if (PageRequest.Text(form["schedule"]) == "weekly")
        {
            var days = WeekDays.None;
            foreach (var value in form["day"])
            {
                if (!Enum.TryParse<DayOfWeek>(value, ignoreCase: true, out var day) || !Enum.IsDefined(day))
                {
                    return (null, $"'{Scope.Printable(value)}' is not a day of the week.");
                }

                days |= day.ToWeekDays();
            }

            if (!TimeSpan.TryParseExact(PageRequest.Text(form["at"]) ?? "", @"hh\:mm", CultureInfo.InvariantCulture, out var at))
            {
                return (null, "Give the local start time of the weekly window as HH:MM, for example 02:00.");
            }

            if (duration is null)
            {
                return (null, "Give the length of each weekly window in minutes.");
            }

            weekly = new WeeklyWindow { Days = days, StartTime = at, Duration = duration.Value, TimeZone = PageRequest.Text(form["time_zone"]) ?? "UTC" };
            duration = null;
        }

        return (new AlertSilenceRequest
        {
            Alerts = alerts,
            Rules = rules,
            Region = region,
            PrincipalId = PageRequest.Text(form["principal_id"]),
            SourceIp = PageRequest.Text(form["source_ip"]),
            StartsAt = starts,
            EndsAt = ends,
            Duration = duration,
            Weekly = weekly,
            Reason = PageRequest.Text(form["reason"]) ?? "",
        }, null);
    }

    public static Html Selector(string projectId, bool projectEditable, bool showAll)
    {
        var project = projectEditable
            ? Html.Of($"<input id=\"s-project\" name=\"project_id\" value=\"{projectId}\" required placeholder=\"project id\">")
            : Html.Of($"<input id=\"s-project\" name=\"project_id\" value=\"{projectId}\" readonly>");
        var all = Html.Raw($"<input type=\"checkbox\" id=\"s-all\" name=\"all\" value=\"1\"{(showAll ? " checked" : "")}>");
        return Html.Of($"""
            <form method="get" action="/alerts/silences" class="selector" aria-label="Project">
              <label for="s-project">Project</label>{project}
              {all}<label for="s-all">Also those that ended more than 7 days ago</label>
              <button type="submit">Show</button>
            </form>
            """);
    }

    public static Html Table(ConsolePage page, string projectId, IReadOnlyList<AlertSilence> silences, bool canManage, bool showAll)
    {
        if (silences.Count == 0)
        {
            return Html.Of($"<p class=\"empty\">{(showAll ? "This project has no silence." : "No silence is in force, and none ended in the last 7 days.")}</p>");
        }

        var rows = silences.Select(s =>
        {
            var inForce = s.State is SilenceState.Pending or SilenceState.Active or SilenceState.Waiting;
            var when = s.Weekly is { } w
                ? Html.Of($"every {Days(w.Days)} at {w.StartTime.ToString(@"hh\:mm", CultureInfo.InvariantCulture)} for {Length(w.Duration)} ({w.TimeZone}), from {ConsoleLayout.Time(s.StartsAt)}{(s.EndsAt is { } until ? " until " + ConsoleLayout.Time(until) : "")}")
                : Html.Of($"{ConsoleLayout.Time(s.StartsAt)} to {ConsoleLayout.Time(s.EndsAt)}");
            var matchers = new List<Html>();
            if (s.PrincipalId is not null)
            {
                matchers.Add(Html.Of($"<li>Principal {s.PrincipalId}</li>"));
            }

            if (s.SourceIp is not null)
            {
                matchers.Add(Html.Of($"<li>Source IP <code>{s.SourceIp}</code></li>"));
            }

            var ended = s.EndedAt is { } at
                ? Html.Of($"<div class=\"detail\">ended {ConsoleLayout.Time(at)} by key <code>{s.EndedBy}</code>{(s.EndComment is null ? "" : ": " + s.EndComment)}</div>")
                : Html.Empty;
            var next = s.NextChangeAt is { } change ? Html.Of($"<div class=\"detail\">until {ConsoleLayout.Time(change)}</div>") : Html.Empty;
            var held = s.HeldFirings == 0
                ? Html.Of($"0")
                : Html.Of($"<a href=\"{ConsoleLayout.Link("/alerts/history", ("project_id", projectId), ("silence_id", s.Id))}\">{s.HeldFirings}</a><div class=\"detail\">last {ConsoleLayout.Time(s.LastHeldAt)}</div>");
            var end = canManage && inForce
                ? Html.Of($"""
                    <form method="post" action="/alerts/silences/end" class="inline-form" aria-label="End silence {s.Id}">
                      {page.AntiforgeryField()}
                      <input type="hidden" name="project_id" value="{projectId}">
                      <input type="hidden" name="silence_id" value="{s.Id}">
                      <input name="comment" placeholder="why (optional)" aria-label="Comment">
                      <button type="submit">End now</button>
                    </form>
                    """)
                : Html.Empty;
            return Html.Of($"""
                <tr id="silence-{s.Id}">
                  <td><span class="silence {s.State.ToString().ToLowerInvariant()}">{s.State}</span>{next}</td>
                  <td>{string.Join(", ", s.Alerts.Select(static a => a.ToString()).Concat(s.Rules.Select(static r => "rule " + r)))}</td>
                  <td>{s.Region ?? "every region"}{(matchers.Count == 0 ? Html.Empty : Html.Of($"<ul class=\"facts\">{Html.Join(matchers)}</ul>"))}</td>
                  <td class="time">{when}</td>
                  <td>{s.Reason}<div class="detail">by key <code>{s.CreatedBy}</code> at {ConsoleLayout.Time(s.CreatedAt)}</div>{ended}</td>
                  <td>{held}</td>
                  <td>{end}</td>
                </tr>
                """);
        });
        return Html.Of($"""
            <table class="silences">
            <thead><tr><th scope="col">State</th><th scope="col">Alerts</th><th scope="col">Where</th><th scope="col">When (UTC)</th><th scope="col">Reason</th><th scope="col">Held</th><th scope="col"></th></tr></thead>
            <tbody>
            {Html.Join(rows)}
            </tbody>
            </table>
            """);
    }

    public static Html Form(ConsolePage page, string projectId, IReadOnlyCollection<string> regions)
    {
        var alerts = Html.Join(AlertCatalog.All.Append(AlertCatalog.CustomRule).Select(static a => Html.Of($"<label><input type=\"checkbox\" name=\"alert\" value=\"{a.Name}\"> {a.Name}</label>")));
        var regionOptions = Html.Join(new[] { Html.Of($"<option value=\"\">every region</option>") }.Concat(regions.Select(static r => Html.Of($"<option value=\"{r}\">{r}</option>"))));
        var days = Html.Join(new[] { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday, DayOfWeek.Saturday, DayOfWeek.Sunday }
            .Select(static d => Html.Of($"<label><input type=\"checkbox\" name=\"day\" value=\"{d}\"> {d.ToString()[..3]}</label>")));
        var zones = Html.Join(SuggestedZones.Select(static z => Html.Of($"<option value=\"{z}\"></option>")));
        return Html.Of($"""
            <h2>New silence</h2>
            <form method="post" action="/alerts/silences" class="filters silence-form" aria-label="New silence">
              {page.AntiforgeryField()}
              <input type="hidden" name="project_id" value="{projectId}">
              <span class="label">Alerts</span><div class="choices">{alerts}</div>
              <label for="n-rules">Rules (comma-separated)</label><input id="n-rules" name="rules" placeholder="none" maxlength="4000">
              <label for="n-region">Region</label><select id="n-region" name="region">{regionOptions}</select>
              <label for="n-principal">Only principal</label><input id="n-principal" name="principal_id" placeholder="any">
              <label for="n-ip">Only source IP</label><input id="n-ip" name="source_ip" placeholder="any">
              <label for="n-schedule">Schedule</label><select id="n-schedule" name="schedule"><option value="once">once</option><option value="weekly">every week</option></select>
              <label for="n-start">Start (UTC)</label><input id="n-start" name="starts_at" type="datetime-local" placeholder="now">
              <label for="n-end">End (UTC)</label><input id="n-end" name="ends_at" type="datetime-local">
              <label for="n-duration">Or duration (minutes)</label><input id="n-duration" name="duration_minutes" type="number" min="1">
              <span class="label">Weekly: days</span><div class="choices">{days}</div>
              <label for="n-at">Weekly: local start</label><input id="n-at" name="at" type="time">
              <label for="n-zone">Weekly: time zone</label><input id="n-zone" name="time_zone" list="zones" value="UTC">
              <datalist id="zones">{zones}</datalist>
              <label for="n-reason">Reason</label><input id="n-reason" name="reason" required maxlength="{SilenceLimits.MaxReasonLength}">
              <div class="actions"><button type="submit">Create silence</button><span class="hint">Held firings are recorded in the alert history; nobody is emailed about them. A weekly window uses the zone's wall clock, daylight-saving changes included.</span></div>
            </form>
            """);
    }

    private static string Days(WeekDays days) => string.Join(", ", days.ToDays().Select(static d => d.ToString()[..3]));

    private static string Length(TimeSpan duration) =>
        duration.TotalMinutes % 60 == 0 ? $"{duration.TotalHours.ToString(CultureInfo.InvariantCulture)} h" : $"{duration.TotalMinutes.ToString(CultureInfo.InvariantCulture)} min";
}
