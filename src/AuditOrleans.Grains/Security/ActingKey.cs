namespace AuditOrleans.Grains.Security;

/// <summary>
/// The API key to record as the author of a change (a silence, a firing taken or closed). For a
/// client's call it is the key the silo verified (<see cref="CallerContext"/>); nothing the
/// client sends can change it. The silo's own callers (the web console, which verifies the
/// user's key itself) name the key in the request context under <see cref="RequestContextKey"/>,
/// which is read only for calls that are not a client's.
/// </summary>
public static class ActingKey
{
    /// <summary>The request-context entry in which the silo's own callers name the acting key.</summary>
    public const string RequestContextKey = "auditorleans-acting-key";

    /// <summary>Recorded when neither a verified key nor an internal caller names one (access control off).</summary>
    public const string Unknown = "(no key)";

    public static string Current()
    {
        if (CallerContext.Principal is { } principal)
        {
            return principal.KeyId;
        }

        return RequestContext.Get(RequestContextKey) is string named && named.Length is > 0 and <= 64 && !named.Any(char.IsControl) ? named : Unknown;
    }
}
