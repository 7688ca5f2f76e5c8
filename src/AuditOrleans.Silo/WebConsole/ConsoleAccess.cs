using System.Buffers.Text;
using System.Security.Cryptography;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
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

/// <summary>
/// The console's sessions in the silos' database (table <c>console_sessions</c>): one row per
/// signed-in session, keyed by the SHA-256 of its random id, deleted at sign-out and purged once
/// expired. Every silo of the database sees the same sessions.
/// </summary>
public sealed class ConsoleSessionStore(AuditDatabase database, TimeProvider time)
{
    /// <summary>Records a new session and returns its id (for the cookie only: the database keeps its hash).</summary>
    public async Task<string> CreateAsync(string keyId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var sessionId = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var now = time.GetUtcNow();
        await database.WriteAsync(async (connection, transaction) =>
        {
            // Sign-ins are rare: the moment to drop the sessions that expired meanwhile.
            await using (var purge = Db.Command(connection, transaction,
                "DELETE FROM console_sessions WHERE expires_at <= @now", ("@now", DbTime.ToMicros(now))))
            {
                await purge.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var insert = Db.Command(connection, transaction,
                "INSERT INTO console_sessions (session_hash, key_id, created_at, expires_at) VALUES (@hash, @key, @created, @expires)",
                ("@hash", Hash(sessionId)), ("@key", keyId), ("@created", DbTime.ToMicros(now)), ("@expires", DbTime.ToMicros(now + lifetime)));
            return await insert.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
        return sessionId;
    }

    /// <summary>True while the session exists and has not expired.</summary>
    public async Task<bool> IsActiveAsync(string sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Db.Command(connection, null,
            "SELECT 1 FROM console_sessions WHERE session_hash = @hash AND expires_at > @now",
            ("@hash", Hash(sessionId)), ("@now", DbTime.ToMicros(time.GetUtcNow())));
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Ends a session: its cookie opens nothing any more, on any silo.</summary>
    public Task EndAsync(string sessionId, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var delete = Db.Command(connection, transaction,
                "DELETE FROM console_sessions WHERE session_hash = @hash", ("@hash", Hash(sessionId)));
            return await delete.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static string Hash(string sessionId) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(sessionId)));
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

        if (await session.ReadKeyAsync(context.Request, context.RequestAborted) is not { } sessionKey)
        {
            if (ConsoleSession.HasCookie(context.Request))
            {
                // Signed out, expired or not ours: the browser may forget the cookie.
                session.ClearCookie(context.Response);
            }

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
            session.ClearCookie(context.Response);
            return new AuthOutcome(null, false, "Your session ended: the API key is no longer valid. Sign in with a valid key.");
        }

        return new AuthOutcome(sessionUser, false, null);
    }
}
