using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using Orleans.Hosting;

namespace AuditOrleans.Tls;

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
