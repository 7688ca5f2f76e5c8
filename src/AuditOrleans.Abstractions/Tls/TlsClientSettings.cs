using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using Orleans.Hosting;

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

/// <summary>Turns TLS on for an Orleans client's gateway connections.</summary>
public static class TlsClientBuilderExtensions
{
    public static IClientBuilder UseAuditTls(this IClientBuilder client, TlsClientSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        client.Services.AddOptions<ClientConnectionOptions>().Configure<IServiceProvider>((options, services) =>
        {
            var logger = services.GetService<ILoggerFactory>()?.CreateLogger("AuditOrleans.Tls") ?? NullLogger.Instance;
            var middleware = TlsConnectionMiddleware.ForClient(settings, logger);
            options.ConfigureConnection(connection => connection.Use(next => context => middleware.OnConnectionAsync(context, next)));
        });
        return client;
    }

    /// <summary>True when <paramref name="exception"/> or one of its inner exceptions is a refused TLS handshake: trying again will not help.</summary>
    public static bool IsTlsFailure(Exception? exception) => TlsFailureMessage(exception) is not null;

    /// <summary>The message of the refused TLS handshake within <paramref name="exception"/>, if any.</summary>
    public static string? TlsFailureMessage(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is TlsHandshakeException tls)
            {
                return tls.Message;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Select(TlsFailureMessage).FirstOrDefault(static m => m is not null) is { } found)
            {
                return found;
            }
        }

        return null;
    }
}
