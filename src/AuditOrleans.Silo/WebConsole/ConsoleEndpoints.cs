using AuditOrleans.Grains;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// The routes of the web console and of <c>/metrics</c>. Each page maps its own handlers; the
/// services are registered by <see cref="ConsoleServices.AddAuditConsole"/>.
/// </summary>
public static class ConsoleEndpoints
{
    /// <summary>Maps the console pages, the style sheet and <c>/metrics</c>, behind the security headers.</summary>
    public static WebApplication MapAuditConsole(this WebApplication app, AuditOrleansOptions options)
    {
        app.UseSecurityHeaders();
        MetricsEndpoint.Map(app);
        ConsoleStyleSheet.Map(app);
        app.MapGet("/", static () => Results.Redirect("/audit-trail"));
        SignInPage.Map(app);
        AuditTrailPage.Map(app, options);
        AlertsPage.Map(app, options);
        HistoryPage.Map(app, options);
        SilencesPage.Map(app, options);
        return app;
    }
}
