using Microsoft.AspNetCore.Antiforgery;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>What every tab's handler does with its request: the sign-in gate, the project the page is about, the query's values.</summary>
internal static class PageRequest
{
    /// <summary>Runs a page for an authenticated user; sends others to sign in (or answers 401 to a bad bearer key).</summary>
    public static async Task<IResult> WithUserAsync(HttpContext context, Func<ConsolePage, Task<IResult>> render)
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

    /// <summary>The project a page is about: the query's, else the key's own, else the one picked on the Overview; null with a message when there is none or it is not allowed.</summary>
    public static (string? ProjectId, string? Problem, int Status) ResolveProject(ConsolePage page, string? requested, Permission permission)
    {
        var user = page.User!;
        var projectId = requested ?? user.ProjectId ?? ProjectCookie.Read(page.Context.Request);
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

    /// <summary>True when the user may type another project id (Owner keys); a project key's pages show its own project only.</summary>
    public static bool ProjectEditable(ConsolePage page) => page.User!.ProjectId is null;

    /// <summary>A query or form value, trimmed; null when absent or blank.</summary>
    public static string? Text(Microsoft.Extensions.Primitives.StringValues values) =>
        values.ToString().Trim() is { Length: > 0 } text ? text : null;

    /// <summary>
    /// Names the signed-in user's key as the author of the grain calls that follow in this
    /// request (silences, taken and closed firings): the console calls the engine as the silo
    /// itself, which records the key it names (ActingKey).
    /// </summary>
    public static void ActAs(ConsolePage page) =>
        RequestContext.Set(AuditOrleans.Grains.Security.ActingKey.RequestContextKey, page.User!.KeyId);

    /// <summary>A time from a form's datetime-local field, read as UTC; null when blank, false when it is not a time.</summary>
    public static bool TryReadUtc(string? text, out DateTimeOffset? value)
    {
        value = null;
        if (text is null)
        {
            return true;
        }

        if (DateTime.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed))
        {
            value = new DateTimeOffset(DateTime.SpecifyKind(parsed, DateTimeKind.Utc));
            return true;
        }

        return false;
    }
}
