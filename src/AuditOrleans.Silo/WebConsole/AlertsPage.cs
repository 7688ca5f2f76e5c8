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
              <div class="actions"><button type="submit" id="save"{disabled}>Save changes</button></div>
            </form>
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
