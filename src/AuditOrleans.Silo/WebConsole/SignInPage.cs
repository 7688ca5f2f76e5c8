using System.Net;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// Sign-in with an API key (posted, never in a URL) into the session cookie, and sign-out.
/// </summary>
public static class SignInPage
{
    public const string KeyField = "api_key";

    /// <summary>Maps <c>GET /sign-in</c> (the form), <c>POST /sign-in</c> and <c>POST /sign-out</c>.</summary>
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/sign-in", new Func<HttpContext, IResult>(Show));
        app.MapPost("/sign-in", new Func<HttpContext, Task<IResult>>(SubmitAsync));
        app.MapPost("/sign-out", new Func<HttpContext, Task<IResult>>(SignOutAsync));
    }

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

        await context.RequestServices.GetRequiredService<ConsoleSession>().SignInAsync(context.Response, key, user.KeyId, context.RequestAborted);
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
            return Results.Redirect("/");
        }

        await context.RequestServices.GetRequiredService<ConsoleSession>().SignOutAsync(context.Request, context.Response, context.RequestAborted);
        return Results.Redirect("/sign-in");
    }

    /// <summary>Longest return URL kept; a longer one becomes the Overview.</summary>
    public const int MaxReturnUrlLength = 4096;

    /// <summary>
    /// A path on this site to go back to after signing in, as it can go into a Location header:
    /// it must start with a single '/', and holds no backslash and no control character (browsers
    /// read "/\\host" and "/\t/host" as another site); characters outside printable ASCII are
    /// percent-encoded as UTF-8 (a header can carry only ASCII). Anything else becomes the
    /// Overview (the landing page).
    /// </summary>
    public static string SafeReturnUrl(string? returnUrl)
    {
        const string fallback = "/";
        if (returnUrl is not { Length: > 0 and <= MaxReturnUrlLength } url || url[0] != '/')
        {
            return fallback;
        }

        if (url.Length > 1 && url[1] == '/')
        {
            return fallback;
        }

        var builder = new StringBuilder(url.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in url.EnumerateRunes())
        {
            if (rune.Value == '\\' || Rune.IsControl(rune) || rune == Rune.ReplacementChar)
            {
                // A control character, a backslash, or an unpaired surrogate (read as U+FFFD).
                return fallback;
            }

            if (rune.Value is > 0x20 and < 0x7F)
            {
                builder.Append((char)rune.Value);
                continue;
            }

            var length = rune.EncodeToUtf8(utf8);
            foreach (var b in utf8[..length])
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static IResult Render(HttpContext context, string returnUrl, string? error, int statusCode)
    {
        var page = new ConsolePage(context, null, true);
        var transport = SecureCookiesWork(context.Request)
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

    /// <summary>True when browsers keep a Secure cookie for this request's origin (HTTPS, or a loopback host).</summary>
    private static bool SecureCookiesWork(HttpRequest request) =>
        request.IsHttps
        || string.Equals(request.Host.Host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(request.Host.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
