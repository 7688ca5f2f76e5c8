using System.Net;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace AuditOrleans.Silo;

/// <summary>
/// Orleans wiring shared by the silo host and the test clusters: clustering, ADO.NET grain
/// storage, the engine's services and schema application before anything reads the database.
/// </summary>
public static class SiloWiring
{
    public static ISiloBuilder ConfigureAuditOrleans(this ISiloBuilder silo, AuditOrleansOptions options, bool configureClustering = true)
    {
        var invariant = AuditDatabase.InvariantFor(options.Storage.Provider);
        if (configureClustering)
        {
            var cluster = options.Cluster;
            if (cluster.Mode == Grains.ClusterMode.Localhost)
            {
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
            }
            else
            {
                silo.Configure<Orleans.Configuration.ClusterOptions>(o =>
                {
                    o.ClusterId = cluster.ClusterId;
                    o.ServiceId = cluster.ServiceId;
                });
                // Other silos and clients reach this silo at the advertised address (Kubernetes: the
                // pod IP); without one, at the host's own address. Either way it listens on all
                // interfaces so that the advertised address works behind NAT or in a pod.
                if (cluster.AdvertisedIPAddress is { Length: > 0 } ip)
                {
                    silo.ConfigureEndpoints(IPAddress.Parse(ip), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
                }
                else
                {
                    silo.ConfigureEndpoints(cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
                }

                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = invariant;
                    o.ConnectionString = AuditDatabase.ProviderConnectionString(options.Storage);
                });
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    // Fail over in seconds rather than the defaults' tens of seconds: a silo that
                    // misses two probes 2 s apart is suspected, and one vote declares it dead (with
                    // two silos there is no third to vote). Membership changes spread by gossip;
                    // the table is also re-read every 5 s in case a gossip message is lost.
                    o.ProbeTimeout = TimeSpan.FromSeconds(2);
                    o.NumMissedProbesLimit = 2;
                    o.NumVotesForDeathDeclaration = 1;
                    o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
                    o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
                    // A silo that cannot join within a minute gives up with an error instead of the default five.
                    o.MaxJoinAttemptTime = TimeSpan.FromMinutes(1);
                });
            }
        }

        silo.AddAdoNetGrainStorage(GrainStorage.Name, o =>
        {
            o.Invariant = invariant;
            o.ConnectionString = AuditDatabase.ProviderConnectionString(options.Storage);
        });

        silo.AddAuditOrleansSecurity(options);
        if (options.Tls.Enabled)
        {
            silo.UseAuditTls(options.Tls);
        }

        silo.ConfigureServices(services =>
        {
            PreparedOptionsFactory.Register(services, options);
            services.AddAuditOrleansEngine();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SchemaParticipant>();
        });
        return silo;
    }

    /// <summary>Applies the schema at the very start of the silo lifecycle, before storage and membership read it.</summary>
    private sealed class SchemaParticipant(AuditDatabase database, IOptions<AuditOrleansOptions> options) : ILifecycleParticipant<ISiloLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) =>
            lifecycle.Subscribe(nameof(SchemaParticipant), ServiceLifecycleStage.First, async cancellationToken =>
            {
                if (options.Value.Storage.ApplySchema)
                {
                    await database.ApplySchemaAsync(cancellationToken);
                }
                else if (options.Value.Storage.Provider == StorageProvider.Sqlite)
                {
                    database.EnsureSqliteDirectory();
                }
            });
    }
}
