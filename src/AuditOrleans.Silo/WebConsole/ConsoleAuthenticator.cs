using System.Buffers.Text;
using System.Security.Cryptography;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Silo.WebConsole;

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
