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
/// One silo wired as the host wires itself (<see cref="SiloWiring.ConfigureAuditOrleans"/>) on a
/// fresh SQLite file in a temporary directory, and an external Orleans client that reaches it
/// through its gateway over loopback TCP, both in this process.
/// </summary>
public sealed class BenchHost : IAsyncDisposable
{
    private readonly IHost silo;
    private readonly IHost client;

    private BenchHost(string directory, AuditOrleansOptions options, IHost silo, IHost client)
    {
        Directory = directory;
        Options = options;
        this.silo = silo;
        this.client = client;
    }

    public string Directory { get; }

    public AuditOrleansOptions Options { get; }

    public string DatabasePath => Path.Combine(Directory, "auditorleans.db");

    /// <summary>The external client: every ingest call goes through it, over the gateway.</summary>
    public IClusterClient Client => client.Services.GetRequiredService<IClusterClient>();

    /// <summary>The silo's own services (to read its configuration, never to bypass the client).</summary>
    public IServiceProvider SiloServices => silo.Services;

    public static async Task<BenchHost> StartAsync(string directory, Action<AuditOrleansOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        System.IO.Directory.CreateDirectory(directory);
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
        var errors = SiloConfiguration.Validate(options);
        if (errors.Count > 0)
        {
            throw new ConfigurationException(errors);
        }

        var siloBuilder = Host.CreateApplicationBuilder();
        Quiet(siloBuilder.Logging);
        siloBuilder.UseOrleans(s =>
        {
            s.ConfigureAuditOrleans(options);
            // Keep idle activations for the whole run: the memory figure counts live detectors,
            // and none may be collected while they are counted.
            s.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromHours(2));
        });
        var siloHost = siloBuilder.Build();
        await siloHost.StartAsync(cancellationToken);

        var clientBuilder = Host.CreateApplicationBuilder();
        Quiet(clientBuilder.Logging);
        clientBuilder.UseOrleansClient(c => c.UseLocalhostClustering(options.Cluster.GatewayPort, options.Cluster.ServiceId, options.Cluster.ClusterId));
        var clientHost = clientBuilder.Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await clientHost.StartAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await siloHost.StopAsync(CancellationToken.None);
            throw new InvalidOperationException($"The bench client could not reach the silo's gateway on 127.0.0.1:{options.Cluster.GatewayPort} within 30 s.");
        }

        return new BenchHost(directory, options, siloHost, clientHost);
    }

    public async ValueTask DisposeAsync()
    {
        await client.StopAsync(CancellationToken.None);
        client.Dispose();
        await silo.StopAsync(CancellationToken.None);
        silo.Dispose();
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
