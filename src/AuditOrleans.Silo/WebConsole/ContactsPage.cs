using AuditOrleans.Grains;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// <c>/contacts</c>: a project's notification contacts, email addresses and webhooks (docs/webhooks.md),
/// with forms to add an address or a webhook, remove one, and give a webhook a new secret. A
/// webhook's secret is shown once, on the page that answers its creation or rotation (pages are
/// never cached). Listing needs ViewContacts; changes need ManageContacts.
/// </summary>
public static class ContactsPage
{
    private const string Title = "Contacts";

    /// <summary>Maps <c>GET /contacts</c>, <c>POST /contacts</c> (add), <c>POST /contacts/remove</c> and <c>POST /contacts/rotate</c>.</summary>
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/contacts", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => ShowAsync(page, grains, PageRequest.Text(context.Request.Query["project_id"]), null, null)));
        app.MapPost("/contacts", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => AddAsync(page, grains)));
        app.MapPost("/contacts/remove", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => RemoveAsync(page, grains)));
        app.MapPost("/contacts/rotate", (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => RotateAsync(page, grains)));
    }

    private static async Task<IResult> ShowAsync(ConsolePage page, IGrainFactory grains, string? requested, string? done, WebhookSecretIssued? secret)
    {
        var (projectId, problem, status) = PageRequest.ResolveProject(page, requested, Permission.ViewContacts);
        var selector = Selector(projectId ?? requested ?? "", PageRequest.ProjectEditable(page));
        if (projectId is null)
        {
            var message = problem is null ? ConsoleLayout.Notice("Enter a project id to see its notification contacts.") : ConsoleLayout.Error(problem);
            return ConsoleLayout.Render(page, Title, ConsoleTab.Contacts, Html.Of($"{selector}{message}"), statusCode: status);
        }

        var contacts = grains.GetGrain<INotificationContactsGrain>(projectId);
        var emails = await contacts.GetAsync();
        var webhooks = await contacts.GetWebhooksAsync();
        var canManage = page.User!.Can(Permission.ManageContacts, projectId);
        var forms = canManage
            ? Forms(page, projectId)
            : Html.Of($"<p class=\"notice\" role=\"note\">Your key ({page.User.Role}) can view contacts but not change them. Sign in with an Owner or AlertsManager key to do so.</p>");
        return ConsoleLayout.Render(page, Title, ConsoleTab.Contacts,
            Html.Of($"{selector}{ConsoleLayout.Notice(done)}{Secret(secret)}{Table(page, projectId, emails, webhooks, canManage)}{forms}"), projectId);
    }

    private static async Task<IResult> AddAsync(ConsolePage page, IGrainFactory grains)
    {
        var form = await page.Context.Request.ReadFormAsync(page.Context.RequestAborted);
        var (projectId, problem) = Authorize(page, PageRequest.Text(form["project_id"]));
        if (projectId is null)
        {
            return problem!;
        }

        var types = NotificationType.None;
        foreach (var value in form["type"])
        {
            if (!Enum.TryParse<NotificationType>(value, ignoreCase: true, out var type) || type == NotificationType.None || !Enum.IsDefined(type))
            {
                return ConsoleLayout.Problem(page, Title, $"'{Scope.Printable(value)}' is not a notification type: Security, Incident, Technical or Billing.", StatusCodes.Status400BadRequest, ConsoleTab.Contacts);
            }

            types |= type;
        }

        types = types == NotificationType.None ? NotificationType.Security : types;
        var contacts = grains.GetGrain<INotificationContactsGrain>(projectId);
        try
        {
            PageRequest.ActAs(page);
            if (PageRequest.Text(form["webhook_url"]) is { } url)
            {
                WebhookFormat? format = null;
                if (PageRequest.Text(form["format"]) is { } text)
                {
                    format = Enum.TryParse<WebhookFormat>(text, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                        ? parsed
                        : throw new ArgumentException($"'{Scope.Printable(text)}' is not a webhook format: Json, Slack or Teams.");
                }

                var issued = await contacts.AddWebhookAsync(url, format, types);
                return await ShowAsync(page, grains, projectId,
                    issued.Created ? null : $"The webhook {issued.Contact.DisplayUrl} was already a contact: its types and format are updated, its secret is unchanged.",
                    issued.Created ? issued : null);
            }

            var email = PageRequest.Text(form["email"]) ?? throw new ArgumentException("Give an email address or a webhook URL.");
            await contacts.AddAsync(email, types);
            return Results.Redirect(ConsoleLayout.Link("/contacts", ("project_id", projectId)), permanent: false, preserveMethod: false);
        }
        catch (ArgumentException ex)
        {
            return ConsoleLayout.Problem(page, Title, ex.Message, StatusCodes.Status400BadRequest, ConsoleTab.Contacts);
        }
    }

    private static async Task<IResult> RemoveAsync(ConsolePage page, IGrainFactory grains)
    {
        var form = await page.Context.Request.ReadFormAsync(page.Context.RequestAborted);
        var (projectId, problem) = Authorize(page, PageRequest.Text(form["project_id"]));
        if (projectId is null)
        {
            return problem!;
        }

        var contacts = grains.GetGrain<INotificationContactsGrain>(projectId);
        bool removed;
        try
        {
            PageRequest.ActAs(page);
            removed = PageRequest.Text(form["webhook_id"]) is { } id
                ? await contacts.RemoveWebhookAsync(id)
                : await contacts.RemoveAsync(PageRequest.Text(form["email"]) ?? "");
        }
        catch (ArgumentException ex)
        {
            return ConsoleLayout.Problem(page, Title, ex.Message, StatusCodes.Status400BadRequest, ConsoleTab.Contacts);
        }

        return removed
            ? Results.Redirect(ConsoleLayout.Link("/contacts", ("project_id", projectId)), permanent: false, preserveMethod: false)
            : ConsoleLayout.Problem(page, Title, $"Project '{projectId}' has no such contact: reload the Contacts tab.", StatusCodes.Status404NotFound, ConsoleTab.Contacts);
    }

    private static async Task<IResult> RotateAsync(ConsolePage page, IGrainFactory grains)
    {
        var form = await page.Context.Request.ReadFormAsync(page.Context.RequestAborted);
        var (projectId, problem) = Authorize(page, PageRequest.Text(form["project_id"]));
        if (projectId is null)
        {
            return problem!;
        }

        TimeSpan? grace = null;
        if (PageRequest.Text(form["grace_hours"]) is { } hours)
        {
            if (!int.TryParse(hours, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var h) || h > WebhookSecretLimits.MaxGracePeriod.TotalHours)
            {
                return ConsoleLayout.Problem(page, Title, $"The grace period '{Scope.Printable(hours)}' is not a number of hours from 0 to {WebhookSecretLimits.MaxGracePeriod.TotalHours}.", StatusCodes.Status400BadRequest, ConsoleTab.Contacts);
            }

            grace = TimeSpan.FromHours(h);
        }

        WebhookSecretIssued? issued;
        try
        {
            PageRequest.ActAs(page);
            issued = await grains.GetGrain<INotificationContactsGrain>(projectId).ResetWebhookSecretAsync(PageRequest.Text(form["webhook_id"]) ?? "", grace);
        }
        catch (ArgumentException ex)
        {
            return ConsoleLayout.Problem(page, Title, ex.Message, StatusCodes.Status400BadRequest, ConsoleTab.Contacts);
        }

        if (issued is null)
        {
            return ConsoleLayout.Problem(page, Title, $"Project '{projectId}' has no such webhook: reload the Contacts tab.", StatusCodes.Status404NotFound, ConsoleTab.Contacts);
        }

        var until = issued.Contact.PreviousSecretExpiresAt is { } expires
            ? $"The previous secret also signs until {ConsoleLayout.Time(expires)} UTC."
            : "The previous secret no longer signs.";
        return await ShowAsync(page, grains, projectId, $"New secret for {issued.Contact.DisplayUrl}. {until}", issued);
    }

    /// <summary>The project of a posted form when the user may change its contacts; otherwise the page that says why.</summary>
    private static (string? ProjectId, IResult? Problem) Authorize(ConsolePage page, string? requested)
    {
        var (projectId, problem, status) = PageRequest.ResolveProject(page, requested, Permission.ViewContacts);
        if (projectId is null)
        {
            return (null, ConsoleLayout.Problem(page, Title, problem ?? "The form names no project: open the Contacts tab again.", problem is null ? StatusCodes.Status400BadRequest : status, ConsoleTab.Contacts));
        }

        return page.User!.Can(Permission.ManageContacts, projectId)
            ? (projectId, null)
            : (null, ConsoleLayout.Problem(page, Title, $"Your key ({page.User.Role}) can view contacts but not change them: sign in with an Owner or AlertsManager key.", StatusCodes.Status403Forbidden, ConsoleTab.Contacts));
    }

    private static Html Selector(string projectId, bool projectEditable)
    {
        var project = projectEditable
            ? Html.Of($"<input id=\"c-project\" name=\"project_id\" value=\"{projectId}\" required placeholder=\"project id\">")
            : Html.Of($"<input id=\"c-project\" name=\"project_id\" value=\"{projectId}\" readonly>");
        return Html.Of($"""
            <form method="get" action="/contacts" class="selector" aria-label="Project">
              <label for="c-project">Project</label>{project}
              <button type="submit">Show</button>
            </form>
            """);
    }

    /// <summary>A webhook's secret, shown on this one page: the silo keeps it sealed and cannot show it again.</summary>
    private static Html Secret(WebhookSecretIssued? issued) => issued?.Secret is not { } secret
        ? Html.Empty
        : Html.Of($"""
            <section class="secret" role="alert" aria-label="Webhook secret">
              <p><strong>Signing secret of {issued.Contact.DisplayUrl}</strong> (fingerprint <code>{issued.Contact.SecretFingerprint}</code>). Copy it now: it is shown this once.</p>
              <p><code class="secret-value">{secret}</code></p>
              <p class="detail">Give it to the receiver, which checks the webhook-signature header of every request (docs/webhooks.md, Verifying a request).</p>
            </section>
            """);

    private static Html Table(ConsolePage page, string projectId, IReadOnlyList<NotificationContact> emails, IReadOnlyList<WebhookContact> webhooks, bool canManage)
    {
        if (emails.Count == 0 && webhooks.Count == 0)
        {
            return Html.Of($"<p class=\"empty\">This project has no notification contact: its alerts reach nobody.</p>");
        }

        Html Remove(string field, string value) => canManage
            ? Html.Of($"""
                <form method="post" action="/contacts/remove" class="inline-form" aria-label="Remove {value}">
                  {page.AntiforgeryField()}<input type="hidden" name="project_id" value="{projectId}"><input type="hidden" name="{field}" value="{value}">
                  <button type="submit">Remove</button>
                </form>
                """)
            : Html.Empty;
        var rows = emails.Select(c => Html.Of($"""
            <tr><td>Email</td><td>{c.Email}</td><td>{c.Types.ToString()}</td><td></td><td class="time">{ConsoleLayout.Time(c.CreatedAt)}</td><td>{Remove("email", c.Email)}</td></tr>
            """)).Concat(webhooks.Select(w =>
        {
            var previous = w.PreviousSecretExpiresAt is { } until ? Html.Of($"<div class=\"detail\">previous secret signs until {ConsoleLayout.Time(until)}</div>") : Html.Empty;
            var rotate = canManage
                ? Html.Of($"""
                    <form method="post" action="/contacts/rotate" class="inline-form" aria-label="New secret for {w.Id}">
                      {page.AntiforgeryField()}<input type="hidden" name="project_id" value="{projectId}"><input type="hidden" name="webhook_id" value="{w.Id}">
                      <input name="grace_hours" type="number" min="0" max="168" placeholder="grace (h)" aria-label="Hours the previous secret also signs">
                      <button type="submit">New secret</button>
                    </form>
                    """)
                : Html.Empty;
            return Html.Of($"""
                <tr id="{w.Id}"><td>Webhook</td><td>{w.Format.ToString()} {w.DisplayUrl}<div class="detail"><code>{w.Id}</code></div></td><td>{w.Types.ToString()}</td>
                <td><code>{w.SecretFingerprint}</code><div class="detail">since {ConsoleLayout.Time(w.SecretCreatedAt)}</div>{previous}</td>
                <td class="time">{ConsoleLayout.Time(w.CreatedAt)}</td><td>{rotate}{Remove("webhook_id", w.Id)}</td></tr>
                """);
        }));
        return Html.Of($"""
            <table class="contacts">
            <thead><tr><th scope="col">Kind</th><th scope="col">Target</th><th scope="col">Types</th><th scope="col">Secret</th><th scope="col">Added (UTC)</th><th scope="col"></th></tr></thead>
            <tbody>
            {Html.Join(rows)}
            </tbody>
            </table>
            """);
    }

    private static Html Forms(ConsolePage page, string projectId)
    {
        var types = Html.Join(new[] { NotificationType.Security, NotificationType.Incident, NotificationType.Technical, NotificationType.Billing }
            .Select(static t => Html.Of($"<label><input type=\"checkbox\" name=\"type\" value=\"{t.ToString()}\"{(t == NotificationType.Security ? " checked" : "")}> {t.ToString()}</label>")));
        return Html.Of($"""
            <h2>Add an email address</h2>
            <form method="post" action="/contacts" class="filters" aria-label="Add an email address">
              {page.AntiforgeryField()}<input type="hidden" name="project_id" value="{projectId}">
              <label for="a-email">Email</label><input id="a-email" name="email" type="email" required maxlength="254">
              <span class="label">Types</span><div class="choices">{types}</div>
              <div class="actions"><button type="submit">Add</button><span class="hint">Alerts go to the Security contacts.</span></div>
            </form>
            <h2>Add a webhook</h2>
            <form method="post" action="/contacts" class="filters" aria-label="Add a webhook">
              {page.AntiforgeryField()}<input type="hidden" name="project_id" value="{projectId}">
              <label for="a-url">URL</label><input id="a-url" name="webhook_url" type="url" required maxlength="{WebhookSecretLimits.MaxUrlLength}" placeholder="https://">
              <label for="a-format">Format</label><select id="a-format" name="format"><option value="Json">Json</option><option value="Slack">Slack</option><option value="Teams">Teams</option></select>
              <span class="label">Types</span><div class="choices">{types}</div>
              <div class="actions"><button type="submit">Add</button><span class="hint">https only (http on loopback); private and link-local targets are refused. The signing secret is shown once.</span></div>
            </form>
            """);
    }
}
