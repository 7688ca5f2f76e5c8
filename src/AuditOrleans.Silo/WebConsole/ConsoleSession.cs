using System.Buffers.Text;
using System.Security.Cryptography;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// The console's session: a random session id and the API key, encrypted and authenticated with
/// ASP.NET Core data protection, in a Secure, HttpOnly, SameSite=Strict cookie without expiry
/// (it ends with the browser session, and after <see cref="Lifetime"/> at the latest). The key
/// is checked again on every request, so a revoked key ends its sessions at once; the session id
/// must name a session of the database (<see cref="ConsoleSessionStore"/>), so that signing out
/// ends the session on every silo, even for someone who kept a copy of the cookie.
/// </summary>
public sealed class ConsoleSession(IDataProtectionProvider dataProtection, ConsoleSessionStore store)
{
    public const string CookieName = "auditorleans_session";

    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private const char Separator = '\n';

    private readonly ITimeLimitedDataProtector protector =
        dataProtection.CreateProtector("AuditOrleans.Console.Session.v2").ToTimeLimitedDataProtector();

    /// <summary>Records a new session for the key and sets its cookie.</summary>
    public async Task SignInAsync(HttpResponse response, string apiKey, string keyId, CancellationToken cancellationToken)
    {
        var sessionId = await store.CreateAsync(keyId, Lifetime, cancellationToken);
        response.Cookies.Append(CookieName, protector.Protect(sessionId + Separator + apiKey, Lifetime), CookieOptions());
    }

    /// <summary>Ends the request's session in the database (when it has one) and removes its cookie.</summary>
    public async Task SignOutAsync(HttpRequest request, HttpResponse response, CancellationToken cancellationToken)
    {
        if (Read(request) is { } session)
        {
            await store.EndAsync(session.SessionId, cancellationToken);
        }

        ClearCookie(response);
    }

    /// <summary>Removes the session cookie from the browser (the session, if any, is left to expire).</summary>
    public void ClearCookie(HttpResponse response) => response.Cookies.Delete(CookieName, CookieOptions());

    /// <summary>
    /// The key held by the request's session cookie, or null: no cookie, one tampered with or
    /// expired, or one whose session ended (signed out) or is unknown to the database.
    /// </summary>
    public async Task<string?> ReadKeyAsync(HttpRequest request, CancellationToken cancellationToken) =>
        Read(request) is { } session && await store.IsActiveAsync(session.SessionId, cancellationToken)
            ? session.ApiKey
            : null;

    /// <summary>True when the request carries a session cookie at all (valid or not).</summary>
    public static bool HasCookie(HttpRequest request) =>
        request.Cookies.TryGetValue(CookieName, out var value) && !string.IsNullOrEmpty(value);

    private (string SessionId, string ApiKey)? Read(HttpRequest request)
    {
        if (!request.Cookies.TryGetValue(CookieName, out var value) || string.IsNullOrEmpty(value))
        {
            return null;
        }

        string payload;
        try
        {
            payload = protector.Unprotect(value);
        }
        catch (CryptographicException)
        {
            return null;
        }

        var split = payload.IndexOf(Separator, StringComparison.Ordinal);
        return split > 0 && split < payload.Length - 1 ? (payload[..split], payload[(split + 1)..]) : null;
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
