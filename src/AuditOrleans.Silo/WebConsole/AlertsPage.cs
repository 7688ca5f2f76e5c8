using AuditOrleans.Grains;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// <c>/alerts</c>, the Alerting Management tab: the five alerts of a project-region with an
/// Active checkbox each, saved together in one atomic <see cref="IAlertConfigGrain.SetActiveAsync"/>.
/// </summary>
public static class AlertsPage
{
    /// <summary>Name of the checkboxes (one value per checked alert).</summary>
    public const string ActiveField = "active";

    /// <summary>Name of the hidden fields holding the alerts that were active when the form was shown.</summary>
    public const string ShownActiveField = "shown_active";

    /// <summary>Name of the custom rules' checkboxes (one rule id per enabled rule, docs/rules.md).</summary>
    public const string RuleEnabledField = "rule_enabled";

    /// <summary>Name of the hidden fields holding the rules that were enabled when the form was shown.</summary>
    public const string ShownRuleEnabledField = "shown_rule_enabled";

    /// <summary>Maps <c>GET /alerts</c> (the table) and <c>POST /alerts</c> (the save).</summary>
    public static void Map(IEndpointRouteBuilder app, AuditOrleansOptions options)
    {
        app.MapGet("/alerts", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => ShowAsync(page, grains, options)));
        app.MapPost("/alerts", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => SaveAsync(page, grains, options)));
    }

    private static async Task<IResult> ShowAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Alerting Management";
        var query = page.Context.Request.Query;
        var (projectId, problem, status) = PageRequest.ResolveProject(page, PageRequest.Text(query["project_id"]), Permission.ViewAlerts);
        var requestedRegion = PageRequest.Text(query["region"]);
        var region = requestedRegion is null ? options.Regions[0] : Scope.NormalizeRegion(requestedRegion, options.Regions);
        var selector = Selector(projectId ?? PageRequest.Text(query["project_id"]) ?? "", PageRequest.ProjectEditable(page), region ?? options.Regions[0], options.Regions);
        if (projectId is null)
        {
            var message = problem is null ? ConsoleLayout.Notice("Enter a project id to manage its alerts.") : ConsoleLayout.Error(problem);
            return ConsoleLayout.Render(page, title, ConsoleTab.Alerts, Html.Of($"{selector}{message}"), statusCode: status);
        }

        if (region is null)
        {
            return ConsoleLayout.Render(page, title, ConsoleTab.Alerts, Html.Of($"{selector}{ConsoleLayout.Error(Scope.DescribeUnknownRegion(requestedRegion, options.Regions))}"), projectId, statusCode: StatusCodes.Status400BadRequest);
        }

        var config = await grains.GetGrain<IAlertConfigGrain>(Scope.Key(projectId, region)).GetAsync();
        var saved = ConsoleLayout.Notice(DescribeSaved(PageRequest.Text(query["saved"])));
        var rulesSaved = PageRequest.Text(query["rules_saved"]) is { } switched && int.TryParse(switched, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? ConsoleLayout.Notice($"{n} custom rule(s) switched. The table shows the applied state.")
            : Html.Empty;
        var regionNotes = Html.Join(config.Active.Order().Select(a => ConsoleLayout.Notice(AlertCatalog.RegionNote(a, region))));
        var editor = Editor(page, config, page.User!.Can(Permission.ManageAlerts, projectId));
        return ConsoleLayout.Render(page, title, ConsoleTab.Alerts, Html.Of($"{selector}{saved}{rulesSaved}{regionNotes}{editor}"), projectId, region);
    }

    private static async Task<IResult> SaveAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Alerting Management";
        var form = await page.Context.Request.ReadFormAsync(page.Context.RequestAborted);
        var (projectId, problem, status) = PageRequest.ResolveProject(page, PageRequest.Text(form["project_id"]), Permission.ViewAlerts);
        if (projectId is null)
        {
            return ConsoleLayout.Problem(page, title, problem ?? "The form names no project: open the Alerting Management tab again.", problem is null ? StatusCodes.Status400BadRequest : status, ConsoleTab.Alerts);
        }

        if (!page.User!.Can(Permission.ManageAlerts, projectId))
        {
            return ConsoleLayout.Problem(page, title, $"Your key ({page.User.Role}) can view alerts but not change them: sign in with an Owner or AlertsManager key.", StatusCodes.Status403Forbidden, ConsoleTab.Alerts);
        }

        var region = Scope.NormalizeRegion(PageRequest.Text(form["region"]), options.Regions);
        if (region is null)
        {
            return ConsoleLayout.Problem(page, title, Scope.DescribeUnknownRegion(PageRequest.Text(form["region"]), options.Regions), StatusCodes.Status400BadRequest, ConsoleTab.Alerts);
        }

        var (changes, error) = ReadChanges(form);
        if (error is not null)
        {
            return ConsoleLayout.Problem(page, title, error, StatusCodes.Status400BadRequest, ConsoleTab.Alerts);
        }

        var grain = grains.GetGrain<IAlertConfigGrain>(Scope.Key(projectId, region));
        if (changes.Count > 0)
        {
            // One call: the grain applies all the changes in one persisted write, or none.
            await grain.SetActiveAsync(changes);
        }

        // The custom rules whose checkbox differs from what the form showed, by id (a rule renamed meanwhile is still found).
        var rules = (await grain.GetAsync()).Rules;
        var enabledNow = form[RuleEnabledField].Select(static v => v ?? "").ToHashSet(StringComparer.Ordinal);
        var enabledShown = form[ShownRuleEnabledField].Select(static v => v ?? "").ToHashSet(StringComparer.Ordinal);
        var ruleChanges = rules.Where(r => enabledNow.Contains(r.Id) != enabledShown.Contains(r.Id))
            .ToDictionary(r => r.Name, r => enabledNow.Contains(r.Id), StringComparer.OrdinalIgnoreCase);
        if (ruleChanges.Count > 0)
        {
            await grain.SetRulesEnabledAsync(ruleChanges);
        }

        // Post/redirect/get: a reload shows the stored state and never posts again.
        return Results.Redirect(ConsoleLayout.Link("/alerts", ("project_id", projectId), ("region", region), ("saved", FormatSaved(changes)),
            ("rules_saved", ruleChanges.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))), permanent: false, preserveMethod: false);
    }

    public static Html Selector(string projectId, bool projectEditable, string region, IReadOnlyCollection<string> regions)
    {
        var options = Html.Join(regions.Select(r => r == region
            ? Html.Of($"<option value=\"{r}\" selected>{r}</option>")
            : Html.Of($"<option value=\"{r}\">{r}</option>")));
        var project = projectEditable
            ? Html.Of($"<input id=\"a-project\" name=\"project_id\" value=\"{projectId}\" required placeholder=\"project id\">")
            : Html.Of($"<input id=\"a-project\" name=\"project_id\" value=\"{projectId}\" readonly>");
        return Html.Of($"""
            <form method="get" action="/alerts" class="selector" aria-label="Project and region">
              <label for="a-project">Project</label>{project}
              <label for="a-region">Region</label><select id="a-region" name="region">{options}</select>
              <button type="submit">Show</button>
            </form>
            """);
    }

    public static Html Editor(ConsolePage page, AlertConfiguration config, bool canManage)
    {
        var disabled = canManage ? "" : " disabled";
        var rows = AlertCatalog.All.Select(a =>
        {
            var id = "alert-" + a.Name;
            var active = config.IsActive(a.Name);
            var checkbox = Html.Raw($"<input type=\"checkbox\" id=\"{id}\" name=\"{ActiveField}\" value=\"{a.Name}\"{(active ? " checked" : "")}{disabled}>");
            return Html.Of($"""
                <tr>
                  <td class="active">{checkbox}</td>
                  <td><label for="{id}" class="alert-name">{a.Name}</label></td>
                  <td>{a.Description}</td>
                  <td><span class="severity {a.Severity.ToString().ToLowerInvariant()}">{a.Severity}</span></td>
                  <td class="state">{(active ? "Active" : "Inactive")}</td>
                </tr>
                """);
        });
        var shown = Html.Join(config.Active.Order().Select(static n => Html.Of($"<input type=\"hidden\" name=\"{ShownActiveField}\" value=\"{n}\">")));
        var updated = config.UpdatedAt is { } at ? $"version {config.Version}, last changed {ConsoleLayout.Time(at)}" : "never changed: every alert starts inactive";
        var readOnlyNote = canManage
            ? Html.Empty
            : Html.Of($"<p class=\"notice\" role=\"note\">Your key ({page.User?.Role}) can view these alerts but not change them. Sign in with an Owner or AlertsManager key to change them.</p>");
        return Html.Of($"""
            {readOnlyNote}
            <form method="post" action="/alerts" class="alerts" aria-label="Alerts">
              {page.AntiforgeryField()}
              <input type="hidden" name="project_id" value="{config.ProjectId}">
              <input type="hidden" name="region" value="{config.Region}">
              {shown}
              <table class="alerts">
                <caption>Alerts of project <strong>{config.ProjectId}</strong> in <strong>{config.Region}</strong> ({updated})</caption>
                <thead><tr><th scope="col">Active</th><th scope="col">Alert</th><th scope="col">Description</th><th scope="col">Severity</th><th scope="col">State</th></tr></thead>
                <tbody>
                {rows}
                </tbody>
              </table>
              {RulesTable(config, disabled)}
              <div class="actions"><button type="submit" id="save"{disabled}>Save changes</button></div>
            </form>
            """);
    }

    /// <summary>The custom rules of the project-region (docs/rules.md), each with an Enabled checkbox; created with New-AuditAlertRule.</summary>
    private static Html RulesTable(AlertConfiguration config, string disabled)
    {
        if (config.Rules.Count == 0)
        {
            return Html.Of($"<p class=\"hint\">No custom rules in {config.Region}: New-AuditAlertRule creates one (docs/rules.md).</p>");
        }

        var rows = config.Rules.OrderBy(static r => r.Name, StringComparer.OrdinalIgnoreCase).Select(r =>
        {
            var id = "rule-" + r.Id;
            var checkbox = Html.Raw($"<input type=\"checkbox\" id=\"{id}\" name=\"{RuleEnabledField}\" value=\"{r.Id}\"{(r.Enabled ? " checked" : "")}{disabled}>");
            var shown = r.Enabled ? Html.Raw($"<input type=\"hidden\" name=\"{ShownRuleEnabledField}\" value=\"{r.Id}\">") : Html.Empty;
            var severity = AlertRule.ToAlertSeverity(r.Severity).ToString().ToLowerInvariant();
            return Html.Of($"""
                <tr>
                  <td class="active">{checkbox}{shown}</td>
                  <td><label for="{id}" class="alert-name">{r.Name}</label>{(r.DryRun ? Html.Of($" <span class=\"tag\">dry run</span>") : Html.Empty)}</td>
                  <td>{r.Description}<div><code class="full">{r.Query}</code></div><div class="hint">fires at {r.Occurrences} within {r.EvaluationWindow}</div></td>
                  <td><span class="severity {severity}">{r.Severity}</span></td>
                  <td class="state">{(r.Enabled ? "Enabled" : "Disabled")}</td>
                </tr>
                """);
        });
        return Html.Of($"""
            <table class="alerts rules">
              <caption>Custom rules of project <strong>{config.ProjectId}</strong> in <strong>{config.Region}</strong></caption>
              <thead><tr><th scope="col">Enabled</th><th scope="col">Rule</th><th scope="col">Query</th><th scope="col">Severity</th><th scope="col">State</th></tr></thead>
              <tbody>
              {Html.Join(rows)}
              </tbody>
            </table>
            """);
    }

    /// <summary>
    /// The changes a posted form asks for: the alerts whose checkbox differs from the state the
    /// form showed (so two people saving different alerts do not undo each other).
    /// </summary>
    public static (Dictionary<AlertName, bool> Changes, string? Error) ReadChanges(IFormCollection form)
    {
        var now = new HashSet<AlertName>();
        var shown = new HashSet<AlertName>();
        foreach (var (field, set) in new[] { (ActiveField, now), (ShownActiveField, shown) })
        {
            foreach (var value in form[field])
            {
                if (!AlertCatalog.TryParse(value, out var name))
                {
                    return ([], $"'{Scope.Printable(value)}' is not an alert. Valid names: {AlertCatalog.ValidNames}.");
                }

                set.Add(name);
            }
        }

        var changes = new Dictionary<AlertName, bool>();
        foreach (var a in AlertCatalog.All)
        {
            if (now.Contains(a.Name) != shown.Contains(a.Name))
            {
                changes[a.Name] = now.Contains(a.Name);
            }
        }

        return (changes, null);
    }

    /// <summary>The query value that tells the page shown after a save what was applied (<c>Name:on,Name:off</c>).</summary>
    public static string FormatSaved(IReadOnlyDictionary<AlertName, bool> changes) =>
        changes.Count == 0 ? "none" : string.Join(',', changes.OrderBy(static c => c.Key).Select(static c => $"{c.Key}:{(c.Value ? "on" : "off")}"));

    /// <summary>The message for <see cref="FormatSaved"/>'s value; null when it is not one.</summary>
    public static string? DescribeSaved(string? saved)
    {
        if (saved is null)
        {
            return null;
        }

        if (saved == "none")
        {
            return "Nothing to save: no checkbox was changed.";
        }

        var parts = new List<string>();
        foreach (var item in saved.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = item.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !AlertCatalog.TryParse(item[..colon], out var name) || item[(colon + 1)..] is not ("on" or "off"))
            {
                return null;
            }

            parts.Add($"{name} {(item[(colon + 1)..] == "on" ? "activated" : "deactivated")}");
        }

        return parts.Count == 0 ? null : $"Changes saved: {string.Join(", ", parts)}. The table shows the applied state.";
    }
}
