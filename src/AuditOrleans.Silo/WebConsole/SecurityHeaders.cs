namespace AuditOrleans.Silo.WebConsole;

/// <summary>The headers every response of the site carries: content security policy, no sniffing, no referrer, no caching.</summary>
public static class SecurityHeaders
{
    /// <summary>Adds the middleware that sets the headers before anything else writes the response.</summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
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
}
