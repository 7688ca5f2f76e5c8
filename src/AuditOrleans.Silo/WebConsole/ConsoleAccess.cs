using System.Security.Cryptography;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>Who is using the console: the API key's id (never the secret), its role and its project.</summary>
/// <param name="KeyId">The key's public id, for display.</param>
/// <param name="Role">The key's role (docs/security.md, Who is trusted).</param>
/// <param name="ProjectId">The key's project; null for Owner keys (every project).</param>
public sealed record ConsoleUser(string KeyId, ApiKeyRole Role, string? ProjectId)
{
    /// <summary>The user of a console whose access control is switched off (Security:Enabled=false).</summary>
    public static ConsoleUser Open { get; } = new("security disabled", ApiKeyRole.Owner, null);

    /// <summary>True when the key's role grants <paramref name="permission"/> on <paramref name="projectId"/> (Owner keys: every project).</summary>
    public bool Can(Permission permission, string projectId) =>
        RolePermissions.Grants(Role, permission)
        && (Role == ApiKeyRole.Owner || string.Equals(ProjectId, projectId, StringComparison.Ordinal));

    /// <summary>The console shows events, alerts and history: keys that can only send events have nothing to see.</summary>
    public bool CanUseConsole => RolePermissions.Grants(Role, Permission.ViewAlerts);

    /// <summary>The cluster-wide metrics (event counts per region, no project ids): any key that may view events.</summary>
    public bool CanReadMetrics => RolePermissions.Grants(Role, Permission.ViewEvents);
}

/// <summary>
/// Checks an API key presented to the console or to <c>/metrics</c>. The silo's key store is the
/// single authority: the console never keeps its own list of keys.
/// </summary>
public interface IConsoleKeyValidator
{
    /// <summary>
    /// The key's user, or null when the key is unknown, revoked or malformed. Throws
    /// <see cref="AccessDeniedException"/> when too many checks failed from the request's
    /// address or for the key id.
    /// </summary>
    Task<ConsoleUser?> ValidateAsync(string apiKey, CancellationToken cancellationToken);
}

/// <summary>
/// The silo's own key validation (salted hashes in the database, shared with the grain call
/// filter); failed checks count against the request's remote address.
/// </summary>
public sealed class SiloKeyValidator(ApiKeyAuthenticator authenticator, IHttpContextAccessor http) : IConsoleKeyValidator
{
    public async Task<ConsoleUser?> ValidateAsync(string apiKey, CancellationToken cancellationToken) =>
        await authenticator.AuthenticateAsync(apiKey, "http " + (http.HttpContext?.Connection.RemoteIpAddress?.ToString() ?? "unknown"), cancellationToken) is { } principal
            ? new ConsoleUser(principal.KeyId, principal.Role, principal.ProjectId)
            : null;
}

/// <summary>
/// The console's session: the API key, encrypted and authenticated with ASP.NET Core data
/// protection, in a Secure, HttpOnly, SameSite=Strict cookie without expiry (it ends with the
/// browser session, and after <see cref="Lifetime"/> at the latest). The key is checked again on
/// every request, so a revoked key ends its sessions at once.
/// </summary>
public sealed class ConsoleSession(IDataProtectionProvider dataProtection)
{
    public const string CookieName = "auditorleans_session";

    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private readonly ITimeLimitedDataProtector protector =
        dataProtection.CreateProtector("AuditOrleans.Console.Session.v1").ToTimeLimitedDataProtector();

    public void SignIn(HttpResponse response, string apiKey) =>
        response.Cookies.Append(CookieName, protector.Protect(apiKey, Lifetime), CookieOptions());

    public void SignOut(HttpResponse response) => response.Cookies.Delete(CookieName, CookieOptions());

    /// <summary>The key held by the request's session cookie, or null (absent, tampered with or expired).</summary>
    public string? ReadKey(HttpRequest request)
    {
        if (!request.Cookies.TryGetValue(CookieName, out var value) || string.IsNullOrEmpty(value))
        {
            return null;
        }

        try
        {
            return protector.Unprotect(value);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static CookieOptions CookieOptions() => new()
    {
        HttpOnly = true,
        Secure = true,
        SameSite = SameSiteMode.Strict,
        Path = "/",
        IsEssential = true,
    };
}

/// <summary>How a request to the console or to <c>/metrics</c> identified itself.</summary>
public sealed record AuthOutcome(ConsoleUser? User, bool ViaBearer, string? Problem)
{
    public static AuthOutcome Anonymous { get; } = new(null, false, null);
}

/// <summary>
/// Resolves the user of a request: everyone is <see cref="ConsoleUser.Open"/> when access control
/// is off; otherwise an <c>Authorization: Bearer</c> header, else the session cookie.
/// </summary>
public sealed class ConsoleAuthenticator(IOptions<AuditOrleansOptions> options, IConsoleKeyValidator validator, ConsoleSession session)
{
    public bool Enabled => options.Value.Security.Enabled;

    public async Task<AuthOutcome> AuthenticateAsync(HttpContext context)
    {
        if (!Enabled)
        {
            return new AuthOutcome(ConsoleUser.Open, false, null);
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            const string scheme = "Bearer ";
            var key = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : "";
            if (key.Length == 0)
            {
                return new AuthOutcome(null, true, "The Authorization header must be 'Bearer <API key>'.");
            }

            ConsoleUser? user;
            try
            {
                user = await validator.ValidateAsync(key, context.RequestAborted);
            }
            catch (AccessDeniedException throttled)
            {
                return new AuthOutcome(null, true, throttled.Message);
            }

            return user is null
                ? new AuthOutcome(null, true, "The API key is not valid: it is unknown or was revoked. Create one with New-AuditApiKey.")
                : new AuthOutcome(user, true, null);
        }

        if (session.ReadKey(context.Request) is not { } sessionKey)
        {
            return AuthOutcome.Anonymous;
        }

        ConsoleUser? sessionUser;
        try
        {
            sessionUser = await validator.ValidateAsync(sessionKey, context.RequestAborted);
        }
        catch (AccessDeniedException throttled)
        {
            return new AuthOutcome(null, false, throttled.Message);
        }

        if (sessionUser is null)
        {
            session.SignOut(context.Response);
            return new AuthOutcome(null, false, "Your session ended: the API key is no longer valid. Sign in with a valid key.");
        }

        return new AuthOutcome(sessionUser, false, null);
    }
}
