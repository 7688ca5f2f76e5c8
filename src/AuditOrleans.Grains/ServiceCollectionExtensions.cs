using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace AuditOrleans.Grains;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers what the grains need: the database, the log and notification stores, the
    /// checkpoint signer and the log maintenance service. The caller binds
    /// <see cref="AuditOrleansOptions"/>.
    /// </summary>
    public static IServiceCollection AddAuditOrleansEngine(this IServiceCollection services, bool runMaintenance = true)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AuditDatabase>();
        services.TryAddSingleton<NotificationStore>();
        services.TryAddSingleton<AuditLogStore>();
        services.TryAddSingleton<CheckpointSigner>();
        services.TryAddSingleton<LogMaintenanceService>();
        if (runMaintenance)
        {
            services.AddSingleton<IHostedService>(static sp => sp.GetRequiredService<LogMaintenanceService>());
        }

        return services;
    }
}
