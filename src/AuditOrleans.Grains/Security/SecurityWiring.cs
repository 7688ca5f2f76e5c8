using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace AuditOrleans.Grains.Security;

public static partial class SecurityWiring
{
    /// <summary>
    /// The services of access control (always registered: the key grain, the console and the
    /// ingest grain use them) and, when <c>Security:Enabled</c>, the call filters and the start-up
    /// bootstrap that runs before the gateway opens.
    /// </summary>
    public static ISiloBuilder AddAuditOrleansSecurity(this ISiloBuilder silo, AuditOrleansOptions options)
    {
        silo.Services.TryAddSingleton<ApiKeyStore>();
        silo.Services.TryAddSingleton<ApiKeyAuthenticator>();
        silo.Services.TryAddSingleton<IngestRateLimiter>();
        silo.Services.TryAddSingleton<InternalCallToken>();
        silo.Services.TryAddSingleton<FailedAuthThrottle>();
        silo.Services.TryAddSingleton<RefusalLog>();
        silo.Services.TryAddSingleton<ClientSources>();
        silo.Services.TryAddSingleton<GatewayGuard>();

        // The gateway guard runs on every client connection, security on or off (with it off,
        // keys are not checked, but Orleans' internals stay out of clients' reach). PostConfigure:
        // after TLS, so that it reads the decrypted stream.
        silo.Services.AddOptions<SiloConnectionOptions>().PostConfigure<GatewayGuard>((connections, guard) =>
            connections.ConfigureGatewayInboundConnection(c => c.Use(next => context => guard.OnConnectionAsync(context, next))));
        silo.Services.TryAddSingleton<SecurityBootstrap>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, BootstrapParticipant>();
        silo.Services.AddSingleton<IConfigureGrainContextProvider, GrainKeyGuard>();
        silo.Services.AddExpectedRefusalLogFilter();
        if (options.Security.Enabled)
        {
            silo.AddIncomingGrainCallFilter<AccessControlFilter>();
            silo.AddOutgoingGrainCallFilter<InternalCallMarker>();
            silo.Services.AddSingleton<IConfigureGrainContextProvider, ActivationGuard>();
        }

        return silo;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Access control is OFF (Security:Enabled=false): anyone who reaches the gateway port can read and change everything")]
    private static partial void LogDisabled(ILogger logger);

    private sealed class BootstrapParticipant(
        SecurityBootstrap bootstrap,
        IOptions<AuditOrleansOptions> options,
        ILogger<SecurityBootstrap> logger) : ILifecycleParticipant<ISiloLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) =>
            lifecycle.Subscribe(nameof(SecurityBootstrap), ServiceLifecycleStage.ApplicationServices, async cancellationToken =>
            {
                if (options.Value.Security.Enabled)
                {
                    await bootstrap.RunAsync(cancellationToken);
                }
                else
                {
                    LogDisabled(logger);
                }
            });
    }
}
