using System.Net;
using System.Net.Sockets;
using AuditOrleans.Grains;
using AuditOrleans.Silo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace AuditOrleans.Bench;

/// <summary>
/// One silo (or several on PostgreSQL) wired as the host wires itself (<see cref="SiloWiring.ConfigureAuditOrleans"/>) on a
/// fresh SQLite file in a temporary directory, and an external Orleans client that reaches it
/// through its gateway over loopback TCP, both in this process.
/// </summary>
public sealed class BenchHost : IAsyncDisposable
{
    private readonly IReadOnlyList<IHost> silos;
    private readonly IHost client;

    private BenchHost(string directory, AuditOrleansOptions options, IReadOnlyList<IHost> silos, IHost client)
    {
        Directory = directory;
        Options = options;
        this.silos = silos;
        this.client = client;
    }

    public string Directory { get; }

    public AuditOrleansOptions Options { get; }

    public string DatabasePath => Path.Combine(Directory, "auditorleans.db");

    /// <summary>The external client: every ingest call goes through it, over the gateway.</summary>
    public IClusterClient Client => client.Services.GetRequiredService<IClusterClient>();

    /// <summary>The silo's own services (to read its configuration, never to bypass the client).</summary>
    public IServiceProvider SiloServices => silos[0].Services;

    public static Task<BenchHost> StartAsync(string directory, Action<AuditOrleansOptions>? configure = null, CancellationToken cancellationToken = default) =>
        StartAsync(directory, 1, configure, cancellationToken);

    /// <summary>
    /// <paramref name="siloCount"/> silos in this process (more than one: ADO.NET clustering on
    /// the configured PostgreSQL database, each silo on its own ports of 127.0.0.1) and one client
    /// that knows every gateway.
    /// </summary>
    public static async Task<BenchHost> StartAsync(string directory, int siloCount, Action<AuditOrleansOptions>? configure, CancellationToken cancellationToken = default)
    {
        System.IO.Directory.CreateDirectory(directory);
        var options = Configure(directory, configure);
        var silos = new List<IHost>();
        var gateways = new List<int>();
        // Every silo of a cluster signs checkpoints with the same key.
        var checkpointKey = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        try
        {
            for (var i = 0; i < siloCount; i++)
            {
                var siloOptions = i == 0 ? options : Configure(directory, configure);
                if (siloCount > 1)
                {
                    siloOptions.Cluster.Mode = ClusterMode.AdoNet;
                    siloOptions.Cluster.AdvertisedIPAddress = "127.0.0.1";
                    siloOptions.CheckpointKey = checkpointKey;
                }

                var errors = SiloConfiguration.Validate(siloOptions);
                if (errors.Count > 0)
                {
                    throw new ConfigurationException(errors);
                }

                var siloBuilder = Host.CreateApplicationBuilder();
                Quiet(siloBuilder.Logging);
                siloBuilder.UseOrleans(s =>
                {
                    s.ConfigureAuditOrleans(siloOptions);
                    // Keep idle activations for the whole run: the memory figure counts live detectors,
                    // and none may be collected while they are counted.
                    s.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromHours(2));
                });
                var siloHost = siloBuilder.Build();
                silos.Add(siloHost);
                await siloHost.StartAsync(cancellationToken);
                gateways.Add(siloOptions.Cluster.GatewayPort);
            }
        }
        catch
        {
            foreach (var started in silos)
            {
                await StopQuietlyAsync(started);
            }

            throw;
        }

        var clientBuilder = Host.CreateApplicationBuilder();
        Quiet(clientBuilder.Logging);
        clientBuilder.UseOrleansClient(c => c.UseLocalhostClustering([.. gateways], options.Cluster.ServiceId, options.Cluster.ClusterId).RefreshGrainTypesOften());
        var clientHost = clientBuilder.Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await clientHost.StartAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            foreach (var started in silos)
            {
                await StopQuietlyAsync(started);
            }

            throw new InvalidOperationException($"The bench client could not reach the silos' gateways on 127.0.0.1:{string.Join(",", gateways)} within 30 s.");
        }

        if (!await ClusterGrainTypes.WaitAsync(clientHost.Services.GetRequiredService<IClusterClient>(), TimeSpan.FromSeconds(30), cancellationToken))
        {
            throw new InvalidOperationException("The bench client never saw the silos' grains (ClusterGrainTypes).");
        }

        return new BenchHost(directory, options, silos, clientHost);
    }

    private static AuditOrleansOptions Configure(string directory, Action<AuditOrleansOptions>? configure)
    {
        var options = new AuditOrleansOptions
        {
            DataDirectory = directory,
            Storage = { ConnectionString = $"Data Source={Path.Combine(directory, "auditorleans.db")}" },
            Cluster = { SiloPort = FreePort(), GatewayPort = FreePort(), ClusterId = "auditorleans-bench", ServiceId = "auditorleans-bench" },
            Smtp = { PickupDirectory = Path.Combine(directory, "outbox") },
            // The bench measures the engine, not access control (another feature with its own tests).
            Security = { Enabled = false },
            Retention = { Days = 0 },
        };
        configure?.Invoke(options);
        return options;
    }

    private static async Task StopQuietlyAsync(IHost host)
    {
        try
        {
            await host.StopAsync(CancellationToken.None);
        }
        finally
        {
            host.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await client.StopAsync(CancellationToken.None);
        client.Dispose();
        for (var i = silos.Count - 1; i >= 0; i--)
        {
            await StopQuietlyAsync(silos[i]);
        }
    }

    /// <summary>A TCP port free on loopback at the time of the call.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Quiet(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddConsole();
        logging.SetMinimumLevel(LogLevel.Warning);
    }
}
