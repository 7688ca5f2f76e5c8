using AuditOrleans.Grains;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// The routes of the web console and of <c>/metrics</c>. Each page maps its own handlers; the
/// services are registered by <see cref="ConsoleServices.AddAuditConsole"/>.
/// </summary>
public static class ConsoleEndpoints
{
    /// <summary>Maps the console pages, the style sheet, <c>/metrics</c> and the Grafana annotations, behind the security headers.</summary>
    public static WebApplication MapAuditConsole(this WebApplication app, AuditOrleansOptions options)
    {
        app.UseSecurityHeaders();
        MetricsEndpoint.Map(app);
        ConsoleStyleSheet.Map(app);
        AnnotationsEndpoint.Map(app);
        SignInPage.Map(app);
        OverviewPage.Map(app, options);
        AuditTrailPage.Map(app, options);
        AuditTrailExport.Map(app, options);
        EventDetailPage.Map(app, options);
        IncidentPage.Map(app, options);
        AlertsPage.Map(app, options);
        HistoryPage.Map(app, options);
        SilencesPage.Map(app, options);
        ContactsPage.Map(app);
        return app;
    }
}
