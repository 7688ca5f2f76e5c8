namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// <c>/metrics</c>: the Prometheus scrape of the engine's instruments, for an API key that may
/// read metrics (an <c>Authorization: Bearer</c> header or a console session).
/// </summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    /// <summary>Maps the scrape endpoint behind its own authentication branch.</summary>
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPrometheusScrapingEndpoint(Path, meterProvider: null, configureBranchedPipeline: static branch => branch.Use(AuthenticateAsync), optionsName: null);

    /// <summary>Lets a key that may read metrics through; answers 401 (no or a bad key) or 403 (a key without the permission) otherwise.</summary>
    private static async Task AuthenticateAsync(HttpContext context, RequestDelegate next)
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
    }
}
