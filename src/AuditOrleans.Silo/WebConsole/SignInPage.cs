using Microsoft.AspNetCore.Antiforgery;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// Sign-in with an API key (posted, never in a URL) into the session cookie, and sign-out.
/// </summary>
public static class SignInPage
{
    public const string KeyField = "api_key";

    public static IResult Show(HttpContext context)
    {
        var auth = context.RequestServices.GetRequiredService<ConsoleAuthenticator>();
        if (!auth.Enabled)
        {
            return Results.Redirect(SafeReturnUrl(context.Request.Query["return_url"]));
        }

        var ended = context.Request.Query["ended"] == "1" ? "Your session ended: the API key is no longer valid. Sign in with a valid key." : null;
        return Render(context, SafeReturnUrl(context.Request.Query["return_url"]), ended, StatusCodes.Status200OK);
    }

    public static async Task<IResult> SubmitAsync(HttpContext context)
    {
        var auth = context.RequestServices.GetRequiredService<ConsoleAuthenticator>();
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var returnUrl = SafeReturnUrl(form["return_url"]);
        if (!auth.Enabled)
        {
            return Results.Redirect(returnUrl);
        }

        try
        {
            await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            return Render(context, returnUrl, "The form could not be verified (it expired or came from another site). Try again.", StatusCodes.Status400BadRequest);
        }

        var key = form[KeyField].ToString().Trim();
        if (key.Length == 0)
        {
            return Render(context, returnUrl, "Enter an API key.", StatusCodes.Status400BadRequest);
        }

        ConsoleUser? user;
        try
        {
            user = await context.RequestServices.GetRequiredService<IConsoleKeyValidator>().ValidateAsync(key, context.RequestAborted);
        }
        catch (AccessDeniedException throttled)
        {
            return Render(context, returnUrl, throttled.Message, StatusCodes.Status429TooManyRequests);
        }

        if (user is null)
        {
            return Render(context, returnUrl, "This API key is not valid: it is unknown or was revoked. Check it, or ask an Owner for a key (New-AuditApiKey).", StatusCodes.Status401Unauthorized);
        }

        if (!user.CanUseConsole)
        {
            return Render(context, returnUrl, "An EventWriter key can only send events: use an Owner, AlertsManager or ReadOnly key for the console.", StatusCodes.Status403Forbidden);
        }

        context.RequestServices.GetRequiredService<ConsoleSession>().SignIn(context.Response, key);
        return Results.Redirect(returnUrl);
    }

    public static async Task<IResult> SignOutAsync(HttpContext context)
    {
        try
        {
            await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.Redirect("/audit-trail");
        }

        context.RequestServices.GetRequiredService<ConsoleSession>().SignOut(context.Response);
        return Results.Redirect("/sign-in");
    }

    /// <summary>A path on this site to go back to after signing in; anything else becomes the Audit Trail page.</summary>
    public static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 1 } url && url[0] == '/' && url[1] is not ('/' or '\\') && !url.Any(char.IsControl)
            ? url
            : returnUrl == "/" ? "/" : "/audit-trail";

    private static IResult Render(HttpContext context, string returnUrl, string? error, int statusCode)
    {
        var page = new ConsolePage(context, null, true);
        var transport = ConsoleEndpoints.SecureCookiesWork(context.Request)
            ? Html.Empty
            : Html.Of($"<p class=\"notice\" role=\"note\">This page was not reached over HTTPS: browsers keep the session cookie only on HTTPS (or localhost). If signing in brings you back here, serve the console over HTTPS.</p>");
        var body = Html.Of($"""
            {ConsoleLayout.Error(error)}
            {transport}
            <form method="post" action="/sign-in" class="sign-in" aria-label="Sign in">
              {page.AntiforgeryField()}
              <input type="hidden" name="return_url" value="{returnUrl}">
              <label for="api-key">API key</label>
              <input type="password" id="api-key" name="{KeyField}" autocomplete="off" required autofocus>
              <p class="hint">The same keys as the PowerShell module (New-AuditApiKey). The key is kept in a secure, HTTP-only session cookie.</p>
              <div class="actions"><button type="submit">Sign in</button></div>
            </form>
            """);
        return ConsoleLayout.Render(page, "Sign in", ConsoleTab.None, body, statusCode: statusCode);
    }
}
