using System.Globalization;
using Microsoft.AspNetCore.Antiforgery;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>The frame of every page, the formats shared by the pages, and the HTTP result.</summary>
public static class ConsoleLayout
{
    public const string Product = "AuditOrleans";

    public static IResult Render(ConsolePage page, string title, ConsoleTab tab, Html body, string? projectId = null, string? region = null, int statusCode = 200)
    {
        var nav = page.User is null
            ? Html.Empty
            : Html.Of($"""
                <nav aria-label="Console">
                  {Tab("Overview", Link("/", ("project_id", projectId)), tab == ConsoleTab.Overview)}
                  {Tab("Audit Trail", Link("/audit-trail", ("project_id", projectId), ("region", region)), tab == ConsoleTab.AuditTrail)}
                  {Tab("Alerting Management", Link("/alerts", ("project_id", projectId), ("region", region)), tab == ConsoleTab.Alerts)}
                  {Tab("Alert history", Link("/alerts/history", ("project_id", projectId), ("region", region)), tab == ConsoleTab.History)}
                  {Tab("Silences", Link("/alerts/silences", ("project_id", projectId)), tab == ConsoleTab.Silences)}
                  {Tab("Contacts", Link("/contacts", ("project_id", projectId)), tab == ConsoleTab.Contacts)}
                </nav>
                """);
        var who = page.User switch
        {
            null => Html.Empty,
            _ when !page.SecurityEnabled => Html.Of($"<div class=\"who\">Access control is off (Security:Enabled=false)</div>"),
            { } u => Html.Of($"""
                <div class="who">
                  <span>Key <strong>{u.KeyId}</strong> · {u.Role}{(u.ProjectId is null ? "" : " · project " + u.ProjectId)}</span>
                  <form method="post" action="/sign-out" class="inline">{page.AntiforgeryField()}<button type="submit" class="link">Sign out</button></form>
                </div>
                """),
        };

        var document = Html.Of($"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{title} · {Product}</title>
            <link rel="stylesheet" href="/console.css">
            </head>
            <body>
            <a class="skip" href="#main">Skip to the content</a>
            <header class="top">
              <a class="brand" href="/">{Product}</a>
              {nav}
              {who}
            </header>
            <main id="main">
            <h1>{title}</h1>
            {body}
            </main>
            </body>
            </html>
            """);
        return Results.Content(document.ToString(), "text/html; charset=utf-8", System.Text.Encoding.UTF8, statusCode);
    }

    /// <summary>A page that only says what went wrong and what to do.</summary>
    public static IResult Problem(ConsolePage page, string title, string message, int statusCode, ConsoleTab tab = ConsoleTab.None) =>
        Render(page, title, tab, Error(message), statusCode: statusCode);

    public static Html Error(string? message) =>
        message is null ? Html.Empty : Html.Of($"<p class=\"error\" role=\"alert\">{message}</p>");

    public static Html Notice(string? message) =>
        message is null ? Html.Empty : Html.Of($"<p class=\"notice\" role=\"status\">{message}</p>");

    /// <summary>ISO 8601 UTC with as many fractional digits as the value has (none for whole seconds).</summary>
    public static string Time(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    public static string? Time(DateTimeOffset? value) => value is { } v ? Time(v) : null;

    /// <summary>A local URL with its non-empty query parameters, each encoded.</summary>
    public static string Link(string path, params (string Name, string? Value)[] query)
    {
        var parts = query.Where(static q => !string.IsNullOrEmpty(q.Value)).Select(static q => q.Name + "=" + Uri.EscapeDataString(q.Value!)).ToList();
        return parts.Count == 0 ? path : path + "?" + string.Join('&', parts);
    }

    private static Html Tab(string text, string href, bool active) =>
        active ? Html.Of($"<a href=\"{href}\" class=\"active\" aria-current=\"page\">{text}</a>") : Html.Of($"<a href=\"{href}\">{text}</a>");
}
