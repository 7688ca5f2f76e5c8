using System.Security.Cryptography;
using System.Text;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Marks the calls a silo makes to grains (from a grain, a background service or the web
/// console through its hosted client) so that <see cref="ActivationGuard"/> lets them activate a
/// project grain without an API key. The token is derived (HKDF) from the installation's
/// checkpoint key, which every silo of a cluster holds and the database never does: reading
/// the database gives nothing to present. It is never sent to a client, and it decides only
/// activation: whether a call may act is decided by <see cref="AccessControlFilter"/> from the
/// connection the call came in on (see docs/security.md).
/// </summary>
public sealed class InternalCallToken(CheckpointSigner signer)
{
    public const string RequestContextKey = "auditorleans-internal";

    /// <summary>The HKDF purpose of the token: changing it changes every silo's token at once.</summary>
    public const string Purpose = "auditorleans/internal-calls/v1";

    private readonly Lazy<(string Text, byte[] Bytes)> token = new(() =>
    {
        var text = Convert.ToHexStringLower(signer.DeriveKey(Purpose));
        return (text, Encoding.ASCII.GetBytes(text));
    });

    /// <summary>The token as sent.</summary>
    public string Value => token.Value.Text;

    /// <summary>True when the current request context carries this cluster's token.</summary>
    public bool IsPresent() =>
        RequestContext.Get(RequestContextKey) is string presented
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presented), token.Value.Bytes);
}
