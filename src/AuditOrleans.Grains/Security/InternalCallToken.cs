using System.Security.Cryptography;
using System.Text;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Marks the calls a silo makes through its own hosted client (background services, the web
/// console running in the silo process) as internal. Orleans gives such calls a client id of
/// the form <c>hosted-{silo}</c>, which an external client could imitate; so the silos share a
/// random token (kept in the database table <c>security_settings</c>, never sent to clients)
/// that <see cref="InternalCallMarker"/> adds to the silo's own outgoing calls and
/// <see cref="AccessControlFilter"/> checks.
/// </summary>
public sealed class InternalCallToken
{
    public const string RequestContextKey = "auditorleans-internal";
    public const string SettingName = "internal-call-token";

    private byte[]? token;
    private string? text;

    /// <summary>The token as sent; null until <see cref="Load"/> ran.</summary>
    public string? Value => text;

    public void Load(string value)
    {
        text = value;
        token = Encoding.ASCII.GetBytes(value);
    }

    public static string Generate() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>True when the current request context carries this cluster's token.</summary>
    public bool IsPresent() =>
        token is not null && RequestContext.Get(RequestContextKey) is string presented
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presented), token);
}

/// <summary>
/// Adds the internal token to every call the silo makes to a grain (from a grain, or from
/// outside any grain through its hosted client), for the duration of that call only: the
/// token is never in a request context that could reach a client.
/// </summary>
public sealed class InternalCallMarker(InternalCallToken token) : IOutgoingGrainCallFilter
{
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (token.Value is not { } value || AccessControlFilter.IsFromClient(context.TargetId))
        {
            await context.Invoke();
            return;
        }

        RequestContext.Set(InternalCallToken.RequestContextKey, value);
        try
        {
            await context.Invoke();
        }
        finally
        {
            RequestContext.Remove(InternalCallToken.RequestContextKey);
        }
    }
}
