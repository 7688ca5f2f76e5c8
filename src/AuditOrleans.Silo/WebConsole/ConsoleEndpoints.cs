using System.Net;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Diagnostics;
using AuditOrleans.Grains.Notifications;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>Registration and routes of the web console and of <c>/metrics</c>.</summary>
public static class ConsoleEndpoints
{
    public const string MetricsPath = "/metrics";

    /// <summary>Services of the console and the metrics exporter.</summary>
    public static IServiceCollection AddAuditConsole(this IServiceCollection services)
    {
        // Session cookies are protected with a key ring kept in the silos' database: every silo
        // of the cluster opens every session, and sessions survive restarts.
        services.AddDataProtection().SetApplicationName("AuditOrleans");
        // The keys are encrypted at rest with a key derived from the checkpoint key, which is not in the database.
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(o =>
        {
            o.XmlRepository = new DatabaseKeyRepository(sp.GetRequiredService<AuditDatabase>(), sp.GetService<TimeProvider>() ?? TimeProvider.System);
            o.XmlEncryptor = new InstallationKeyXmlEncryptor(sp.GetRequiredService<CheckpointSigner>());
        }));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "auditorleans_csrf";
            // The anti-forgery library refuses Always on plain HTTP; the session cookie itself is always Secure.
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.FormFieldName = "_csrf";
            o.HeaderName = null;
        });
        services.AddHttpContextAccessor();
        services.TryAddSingleton<IConsoleKeyValidator, SiloKeyValidator>();
        services.AddSingleton(sp => new ConsoleSessionStore(sp.GetRequiredService<AuditDatabase>(), sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<ConsoleSession>();
        services.AddSingleton<ConsoleAuthenticator>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(AuditMetrics.MeterName)
            .AddPrometheusExporter(o =>
            {
                o.DisableTotalNameSuffixForCounters = false;

                // Every scrape reads the instruments afresh (the exporter caches 300 ms by default,
                // which hides what happened between two close scrapes).
                o.ScrapeResponseCacheDurationMilliseconds = 0;
            }));
        return services;
    }

    /// <summary>Maps the console pages, the style sheet and <c>/metrics</c>.</summary>
    public static WebApplication MapAuditConsole(this WebApplication app, AuditOrleansOptions options)
    {
        app.Use(static (context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            // What antiforgery sets on every page with a form: set it first, so it has nothing to override (and to warn about).
            headers.CacheControl = "no-cache, no-store";
            headers.Pragma = "no-cache";
            return next(context);
        });

        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (context, next) =>
        {
            var outcome = await context.RequestServices.GetRequiredService<ConsoleAuthenticator>().AuthenticateAsync(context);
            if (outcome.User is { CanReadMetrics: true })
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = outcome.User is null ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden;
            if (outcome.User is null)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"AuditOrleans\"";
            }

            await context.Response.WriteAsync(
                outcome.User is null
                    ? (outcome.Problem ?? "Send an API key: Authorization: Bearer <key>.") + "\n"
                    : $"A key with role {outcome.User.Role} cannot read metrics: use an Owner, AlertsManager or ReadOnly key.\n",
                context.RequestAborted);
        }), optionsName: null);

        app.MapGet("/console.css", static () => Results.Text(StyleSheet.Value, "text/css; charset=utf-8"));
        app.MapGet("/", static () => Results.Redirect("/audit-trail"));
        app.MapGet("/sign-in", new Func<HttpContext, IResult>(SignInPage.Show));
        app.MapPost("/sign-in", new Func<HttpContext, Task<IResult>>(SignInPage.SubmitAsync));
        app.MapPost("/sign-out", new Func<HttpContext, Task<IResult>>(SignInPage.SignOutAsync));
        app.MapGet("/audit-trail", (HttpContext context, IGrainFactory grains) => WithUserAsync(context, page => AuditTrailAsync(page, grains, options)));
        app.MapGet("/alerts", (HttpContext context, IGrainFactory grains) => WithUserAsync(context, page => AlertsAsync(page, grains, options)));
        app.MapPost("/alerts", (HttpContext context, IGrainFactory grains) => WithUserAsync(context, page => SaveAlertsAsync(page, grains, options)));
        app.MapGet("/alerts/history", (HttpContext context, IGrainFactory grains) => WithUserAsync(context, page => HistoryAsync(page, grains, options)));
        return app;
    }

    private static readonly Lazy<string> StyleSheet = new(static () =>
    {
        using var stream = typeof(ConsoleEndpoints).Assembly.GetManifestResourceStream("console.css")
            ?? throw new InvalidOperationException("The console style sheet is not embedded in the silo assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>Runs a page for an authenticated user; sends others to sign in (or answers 401 to a bad bearer key).</summary>
    private static async Task<IResult> WithUserAsync(HttpContext context, Func<ConsolePage, Task<IResult>> render)
    {
        var auth = context.RequestServices.GetRequiredService<ConsoleAuthenticator>();
        var outcome = await auth.AuthenticateAsync(context);
        if (outcome.User is { } user)
        {
            var page = new ConsolePage(context, user, auth.Enabled);
            if (!user.CanUseConsole)
            {
                return ConsoleLayout.Problem(page, "Not allowed", "An EventWriter key can only send events: sign in with an Owner, AlertsManager or ReadOnly key to use the console.", StatusCodes.Status403Forbidden);
            }

            if (HttpMethods.IsPost(context.Request.Method) && !outcome.ViaBearer)
            {
                try
                {
                    await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context);
                }
                catch (AntiforgeryValidationException)
                {
                    return ConsoleLayout.Problem(page, "Form expired", "The form could not be verified (it expired or came from another site). Reload the page and try again.", StatusCodes.Status400BadRequest);
                }
            }

            return await render(page);
        }

        if (outcome.ViaBearer)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"AuditOrleans\", error=\"invalid_token\"";
            return Results.Text(outcome.Problem + "\n", statusCode: StatusCodes.Status401Unauthorized);
        }

        var returnUrl = HttpMethods.IsGet(context.Request.Method) ? context.Request.Path + context.Request.QueryString : "/alerts";
        return Results.Redirect(ConsoleLayout.Link("/sign-in", ("return_url", returnUrl), ("ended", outcome.Problem is null ? null : "1")));
    }

    /// <summary>The project a page is about: the query's, else the key's own; null with a message when there is none or it is not allowed.</summary>
    private static (string? ProjectId, string? Problem, int Status) ResolveProject(ConsolePage page, string? requested, Permission permission)
    {
        var user = page.User!;
        var projectId = requested ?? user.ProjectId;
        if (projectId is null)
        {
            return (null, null, StatusCodes.Status200OK);
        }

        if (!Scope.IsValidProjectId(projectId))
        {
            return (null, Scope.DescribeProjectIdRule(projectId), StatusCodes.Status400BadRequest);
        }

        // The same answer whether or not the project exists.
        return user.Can(permission, projectId)
            ? (projectId, null, StatusCodes.Status200OK)
            : (null, $"Your key ({user.Role}) does not have the {permission} permission on project '{projectId}'. Use a key of that project with that permission.", StatusCodes.Status403Forbidden);
    }

    private static bool ProjectEditable(ConsolePage page) => page.User!.ProjectId is null;

    private static async Task<IResult> AuditTrailAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Audit Trail";
        var filters = AuditTrailPage.Filters.From(page.Context.Request.Query);
        var (projectId, problem, status) = ResolveProject(page, filters.ProjectId, Permission.ViewEvents);
        var form = AuditTrailPage.Form(filters, projectId ?? filters.ProjectId, ProjectEditable(page), options.Regions);
        if (projectId is null)
        {
            var message = problem is null ? ConsoleLayout.Notice("Enter a project id to see its events.") : ConsoleLayout.Error(problem);
            return ConsoleLayout.Render(page, title, ConsoleTab.AuditTrail, Html.Of($"{form}{message}"), statusCode: status);
        }

        var (query, errors) = AuditTrailPage.Parse(filters, projectId, options.Regions);
        if (query is null)
        {
            return ConsoleLayout.Render(page, title, ConsoleTab.AuditTrail, Html.Of($"{form}{errors.Select(ConsoleLayout.Error)}"), projectId, filters.Region, StatusCodes.Status400BadRequest);
        }

        try
        {
            var result = await grains.GetGrain<IAuditLogGrain>(0).QueryAsync(query);
            return ConsoleLayout.Render(page, title, ConsoleTab.AuditTrail, Html.Of($"{form}{AuditTrailPage.Results(filters, query, result)}"), projectId, query.Region);
        }
        catch (ArgumentException ex)
        {
            return ConsoleLayout.Render(page, title, ConsoleTab.AuditTrail, Html.Of($"{form}{ConsoleLayout.Error(ex.Message)}"), projectId, filters.Region, StatusCodes.Status400BadRequest);
        }
    }

    private static async Task<IResult> AlertsAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Alerting Management";
        var query = page.Context.Request.Query;
        var (projectId, problem, status) = ResolveProject(page, Text(query["project_id"]), Permission.ViewAlerts);
        var requestedRegion = Text(query["region"]);
        var region = requestedRegion is null ? options.Regions[0] : Scope.NormalizeRegion(requestedRegion, options.Regions);
        var selector = AlertsPage.Selector(projectId ?? Text(query["project_id"]) ?? "", ProjectEditable(page), region ?? options.Regions[0], options.Regions);
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
        var saved = ConsoleLayout.Notice(AlertsPage.DescribeSaved(Text(query["saved"])));
        var editor = AlertsPage.Editor(page, config, page.User!.Can(Permission.ManageAlerts, projectId));
        return ConsoleLayout.Render(page, title, ConsoleTab.Alerts, Html.Of($"{selector}{saved}{editor}"), projectId, region);
    }

    private static async Task<IResult> SaveAlertsAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Alerting Management";
        var form = await page.Context.Request.ReadFormAsync(page.Context.RequestAborted);
        var (projectId, problem, status) = ResolveProject(page, Text(form["project_id"]), Permission.ViewAlerts);
        if (projectId is null)
        {
            return ConsoleLayout.Problem(page, title, problem ?? "The form names no project: open the Alerting Management tab again.", problem is null ? StatusCodes.Status400BadRequest : status, ConsoleTab.Alerts);
        }

        if (!page.User!.Can(Permission.ManageAlerts, projectId))
        {
            return ConsoleLayout.Problem(page, title, $"Your key ({page.User.Role}) can view alerts but not change them: sign in with an Owner or AlertsManager key.", StatusCodes.Status403Forbidden, ConsoleTab.Alerts);
        }

        var region = Scope.NormalizeRegion(Text(form["region"]), options.Regions);
        if (region is null)
        {
            return ConsoleLayout.Problem(page, title, Scope.DescribeUnknownRegion(Text(form["region"]), options.Regions), StatusCodes.Status400BadRequest, ConsoleTab.Alerts);
        }

        var (changes, error) = AlertsPage.ReadChanges(form);
        if (error is not null)
        {
            return ConsoleLayout.Problem(page, title, error, StatusCodes.Status400BadRequest, ConsoleTab.Alerts);
        }

        if (changes.Count > 0)
        {
            // One call: the grain applies all the changes in one persisted write, or none.
            await grains.GetGrain<IAlertConfigGrain>(Scope.Key(projectId, region)).SetActiveAsync(changes);
        }

        // Post/redirect/get: a reload shows the stored state and never posts again.
        return Results.Redirect(ConsoleLayout.Link("/alerts", ("project_id", projectId), ("region", region), ("saved", AlertsPage.FormatSaved(changes))), permanent: false, preserveMethod: false);
    }

    private static async Task<IResult> HistoryAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Alert history";
        var query = page.Context.Request.Query;
        var (projectId, problem, status) = ResolveProject(page, Text(query["project_id"]), Permission.ViewAlertHistory);
        var requestedRegion = Text(query["region"]);
        var region = requestedRegion is null ? null : Scope.NormalizeRegion(requestedRegion, options.Regions);
        var requestedAlert = Text(query["alert"]);
        AlertName? alert = requestedAlert is not null && AlertCatalog.TryParse(requestedAlert, out var a) ? a : null;
        var selector = HistoryPage.Selector(projectId ?? Text(query["project_id"]) ?? "", ProjectEditable(page), region, alert, options.Regions);
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
            Limit = HistoryPage.DefaultLimit,
        });
        var table = HistoryPage.Table(history, AuditTrailLinkFor);
        return ConsoleLayout.Render(page, title, ConsoleTab.History, Html.Of($"{selector}{table}"), projectId, region);
    }

    /// <summary>The link of the firing's email, relative to this site (the console may be reached by another name than Console:BaseUrl).</summary>
    private static string AuditTrailLinkFor(FiredAlert alert) => AuditTrailLink.For("", alert);

    private static string? Text(Microsoft.Extensions.Primitives.StringValues values) =>
        values.ToString().Trim() is { Length: > 0 } text ? text : null;

    /// <summary>True when browsers keep a Secure cookie for this request's origin (HTTPS, or a loopback host).</summary>
    internal static bool SecureCookiesWork(HttpRequest request) =>
        request.IsHttps
        || string.Equals(request.Host.Host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(request.Host.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
