using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace AuditOrleans.Tls;

/// <summary>How a client checks a TLS gateway.</summary>
public sealed record TlsClientSettings
{
    /// <summary>
    /// Certificates to trust (a CA, or the gateway's self-signed certificate): the gateway's
    /// certificate must chain to one of them. Null: this machine's trusted authorities.
    /// </summary>
    public X509Certificate2Collection? TrustedCertificates { get; init; }

    /// <summary>The name the gateway's certificate must carry; null: the host of each gateway as given (<see cref="GatewayHosts"/>), else its IP address.</summary>
    public string? ServerName { get; init; }

    /// <summary>The host name each gateway was given as, before it was resolved to an address.</summary>
    public IReadOnlyDictionary<IPEndPoint, string> GatewayHosts { get; init; } = new Dictionary<IPEndPoint, string>();

    public TimeSpan HandshakeTimeout { get; init; } = TlsConnectionMiddleware.DefaultHandshakeTimeout;

    /// <summary>The name checked in the certificate of the gateway at <paramref name="endpoint"/>.</summary>
    public string ServerNameFor(EndPoint? endpoint) =>
        ServerName is { Length: > 0 } name ? name
        : endpoint is IPEndPoint ip && GatewayHosts.TryGetValue(ip, out var host) ? host
        : TlsConnectionMiddleware.DefaultHost(endpoint);
}
