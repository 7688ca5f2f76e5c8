namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// The project an Owner key last picked on the Overview, remembered in a cookie so that every
/// page opens on it when its URL names none. It is only a default: each page still checks the
/// key's permission on it. Project keys always see their own project.
/// </summary>
public static class ProjectCookie
{
    public const string Name = "auditorleans_project";

    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(90);

    /// <summary>The remembered project id, when it is a valid one.</summary>
    public static string? Read(HttpRequest request) =>
        request.Cookies.TryGetValue(Name, out var value) && Scope.IsValidProjectId(value) ? value : null;

    public static void Write(HttpResponse response, string projectId) =>
        response.Cookies.Append(Name, projectId, new CookieOptions
        {
            HttpOnly = true,
            Secure = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            MaxAge = Lifetime,
            IsEssential = true,
        });
}
