using System.Globalization;
using Microsoft.AspNetCore.Antiforgery;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>What a page needs to know about its request.</summary>
public sealed class ConsolePage(HttpContext context, ConsoleUser? user, bool securityEnabled)
{
    public HttpContext Context { get; } = context;

    public ConsoleUser? User { get; } = user;

    public bool SecurityEnabled { get; } = securityEnabled;

    /// <summary>The hidden anti-forgery field of a form posted by this page.</summary>
    public Html AntiforgeryField()
    {
        var tokens = Context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(Context);
        return Html.Of($"<input type=\"hidden\" name=\"{tokens.FormFieldName}\" value=\"{tokens.RequestToken}\">");
    }
}
