using AuditOrleans.Grains;
using AuditOrleans.Tls;
using Orleans.Configuration;

namespace AuditOrleans.Silo;

/// <summary>
/// TLS on the silo's connections when <c>AuditOrleans:Tls:CertificatePath</c> is set: the gateway
/// presents the certificate to clients; silos talk to each other with mutual TLS, each checking
/// the other's certificate against the trusted certificates (by default the silo's own).
/// </summary>
public static partial class SiloTls
{
    public static ISiloBuilder UseAuditTls(this ISiloBuilder silo, TlsOptions tls)
    {
        var certificate = TlsCertificates.LoadCertificate(tls.CertificatePath!, tls.CertificateKeyPath, tls.CertificatePassword);
        var trusted = TlsCertificates.SiloTrust(
            certificate,
            tls.TrustedCertificatePath is { Length: > 0 } path ? TlsCertificates.LoadTrusted(path) : null);
        silo.Services.AddOptions<SiloConnectionOptions>().Configure<ILoggerFactory>((options, loggers) =>
        {
            var logger = loggers.CreateLogger("AuditOrleans.Tls");
            var gateway = TlsConnectionMiddleware.ForGateway(certificate, tls.HandshakeTimeout, logger);
            var inbound = TlsConnectionMiddleware.ForSiloInbound(certificate, trusted, tls.HandshakeTimeout, logger);
            var outbound = TlsConnectionMiddleware.ForSiloOutbound(certificate, trusted, tls.HandshakeTimeout, logger);
            options.ConfigureGatewayInboundConnection(c => c.Use(next => context => gateway.OnConnectionAsync(context, next)));
            options.ConfigureSiloInboundConnection(c => c.Use(next => context => inbound.OnConnectionAsync(context, next)));
            options.ConfigureSiloOutboundConnection(c => c.Use(next => context => outbound.OnConnectionAsync(context, next)));
        });
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(services => new Announcement(
            services.GetRequiredService<ILoggerFactory>().CreateLogger("AuditOrleans.Tls"),
            TlsCertificates.Describe(certificate),
            string.Join(", ", trusted.Select(TlsCertificates.Describe))));
        return silo;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "TLS on for gateway and silo connections: certificate {Certificate}; silos trusted through {Trusted}")]
    private static partial void LogTlsOn(ILogger logger, string certificate, string trusted);

    /// <summary>Says once, at start, that connections are encrypted and with which certificate (never the password).</summary>
    private sealed class Announcement(ILogger logger, string certificate, string trusted) : ILifecycleParticipant<ISiloLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) =>
            lifecycle.Subscribe(nameof(SiloTls), ServiceLifecycleStage.RuntimeInitialize, _ =>
            {
                LogTlsOn(logger, certificate, trusted);
                return Task.CompletedTask;
            });
    }
}
