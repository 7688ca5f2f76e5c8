using AuditOrleans.Grains.Notifications;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Detection;
using AuditOrleans.Grains.Lifecycle;
using AuditOrleans.Grains.Security;

namespace AuditOrleans.Grains;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers what the grains need: the database, the audit log's writer, queries, chain
    /// verifier and retention, the notification contacts, the firing recorder (which records
    /// firings for the writer), the alert history reader, the outbox (notification store), the
    /// lifecycle store (silences, acknowledgements), the checkpoint signer, the log maintenance
    /// service, the alert email composer and sender, the outbox's start-up wake and the watch over
    /// open alert episodes. The caller binds <see cref="AuditOrleansOptions"/>.
    /// </summary>
    public static IServiceCollection AddAuditOrleansEngine(this IServiceCollection services, bool runMaintenance = true)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AuditDatabase>();
        services.TryAddSingleton<NotificationContactStore>();
        services.TryAddSingleton<FiringRecorder>();
        services.TryAddSingleton<IFiringRecorder>(static sp => sp.GetRequiredService<FiringRecorder>());
        services.TryAddSingleton<AlertHistoryReader>();
        services.TryAddSingleton<NotificationStore>();
        services.TryAddSingleton<LifecycleStore>();
        services.TryAddSingleton<AuditLogWriter>();
        services.TryAddSingleton<DetectorServices>();
        services.TryAddSingleton<AuditLogQueries>();
        services.TryAddSingleton<ChainVerifier>();
        services.TryAddSingleton<EventLookup>();
        services.TryAddSingleton<ActivityQueries>();
        services.TryAddSingleton<LogRetention>();
        services.TryAddSingleton<CheckpointSigner>();
        services.TryAddSingleton<LogMaintenanceService>();
        services.TryAddSingleton<AlertEmailComposer>();
        services.TryAddSingleton<DigestEmailComposer>();
        services.TryAddSingleton<MailSender>();
        services.TryAddSingleton<WebhookKeys>();
        services.TryAddSingleton<WebhookStore>();
        services.TryAddSingleton<WebhookTargetPolicy>();
        services.TryAddSingleton<WebhookSender>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, OutboxStartup>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, EpisodeWatch>();
        if (runMaintenance)
        {
            services.AddSingleton<IHostedService>(static sp => sp.GetRequiredService<LogMaintenanceService>());
        }

        return services;
    }
}
