using AuditOrleans.Grains;
using AuditOrleans.Grains.Diagnostics;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>Registration of the web console's services and of the <c>/metrics</c> exporter.</summary>
public static class ConsoleServices
{
    /// <summary>Services of the console and the metrics exporter.</summary>
    public static IServiceCollection AddAuditConsole(this IServiceCollection services)
    {
        // Session cookies are protected with a key ring kept in the silos' database: every silo
        // of the cluster opens every session, and sessions survive restarts.
        services.AddDataProtection().SetApplicationName("AuditOrleans");
        // The keys are encrypted at rest with a key derived from the checkpoint key, which is not in the database.
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(o =>
        {
            o.XmlRepository = new DatabaseKeyRepository(sp.GetRequiredService<AuditDatabase>(), sp.GetService<TimeProvider>() ?? TimeProvider.System);
            o.XmlEncryptor = new InstallationKeyXmlEncryptor(sp.GetRequiredService<CheckpointSigner>());
        }));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "auditorleans_csrf";
            // The anti-forgery library refuses Always on plain HTTP; the session cookie itself is always Secure.
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.FormFieldName = "_csrf";
            o.HeaderName = null;
        });
        services.AddHttpContextAccessor();
        services.TryAddSingleton<IConsoleKeyValidator, SiloKeyValidator>();
        services.AddSingleton(sp => new ConsoleSessionStore(sp.GetRequiredService<AuditDatabase>(), sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<ConsoleSession>();
        services.AddSingleton<ConsoleAuthenticator>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(AuditMetrics.MeterName)
            .AddPrometheusExporter(o =>
            {
                o.DisableTotalNameSuffixForCounters = false;

                // Every scrape reads the instruments afresh (the exporter caches 300 ms by default,
                // which hides what happened between two close scrapes).
                o.ScrapeResponseCacheDurationMilliseconds = 0;
            }));
        return services;
    }
}
