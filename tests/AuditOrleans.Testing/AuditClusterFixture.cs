using AuditOrleans.Grains;
using AuditOrleans.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;
using Xunit;

namespace AuditOrleans.Testing;

/// <summary>
/// One Orleans test cluster per test collection, wired exactly as the silo host wires itself
/// (<see cref="SiloWiring"/>), on a real SQLite file in a temporary directory, with a fake
/// clock the tests move. Use unique project ids per test (<see cref="NewProjectId"/>).
/// </summary>
public class AuditClusterFixture : IAsyncLifetime
{
    /// <summary>
    /// The cluster's bootstrap Owner key (Security:BootstrapApiKey). The fixture's own client
    /// sends it with every call that does not already carry a key in its RequestContext; give
    /// it to PowerShell tests (Connect-AuditCluster -ApiKey). Other roles: <see cref="CreateApiKeyAsync"/>.
    /// </summary>
    public const string OwnerApiKey = "ao_0f1e2d3c4b5a6978_fixture-owner-key-not-a-secret-0123";

    /// <summary>The clock starts here; tests advance it.</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);

    public AuditClusterFixture()
    {
        (ClockId, Clock) = TestClocks.Create(Epoch);
        (LogsId, Logs) = TestLogSink.Create();
    }

    /// <summary>Every line the silos logged (Debug and above).</summary>
    public TestLogSink Logs { get; }

    public string LogsId { get; }

    public TempDirectory Directory { get; } = new("auditorleans-cluster");

    public string ClockId { get; }

    public FakeTimeProvider Clock { get; }

    public TestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public IGrainFactory Grains => Cluster.GrainFactory;

    public string DatabasePath => Directory.Combine("auditorleans.db");

    public string ConnectionString => $"Data Source={DatabasePath}";

    /// <summary>The first silo's gateway, for clients such as the PowerShell module.</summary>
    public string Gateway => $"127.0.0.1:{Cluster.Primary!.GatewayAddress!.Endpoint.Port}";

    /// <summary>Number of silos; override for multi-silo collections.</summary>
    protected virtual short InitialSilos => 1;

    /// <summary>False for a cluster that starts like a fresh installation: its Owner key is generated into {DataDirectory}/owner.key.</summary>
    protected virtual bool UseBootstrapApiKey => true;

    /// <summary>Extra AuditOrleans settings for this cluster (keys without the AuditOrleans: prefix).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string>> Settings => [];

    /// <summary>
    /// Last changes to the cluster's options before it is built; for example clients outside the
    /// test host (the PowerShell module) need <c>ConnectionTransport = TcpSocket</c>, as the
    /// default in-memory transport only serves the fixture's own client.
    /// </summary>
    protected virtual void ConfigureBuilder(TestClusterBuilder builder)
    {
    }

    public static string NewProjectId(string prefix = "t") => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(64, prefix.Length + 33)];

    public virtual Task InitializeAsync() => DeployAsync();

    /// <summary>
    /// Stops every silo and starts a new cluster on the same database, data directory and clock:
    /// what a restart of the host does. Grain activations and in-memory state are lost.
    /// </summary>
    /// <param name="whileStopped">Runs after the silos stopped and before the new ones start (e.g. to move the clock).</param>
    public async Task RestartAsync(Func<Task>? whileStopped = null)
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        if (whileStopped is not null)
        {
            await whileStopped();
        }

        await DeployAsync();
    }

    private async Task DeployAsync()
    {
        try
        {
            await DeployOnceAsync();
        }
        catch (Orleans.Runtime.Messaging.ConnectionFailedException)
        {
            // Seen on a loaded machine: the fixture's client found nothing listening on the
            // gateway port the test host allocated. A cluster on fresh ports is tried once more;
            // a second failure fails the collection as before.
            try
            {
                await Cluster.StopAllSilosAsync();
                await Cluster.DisposeAsync();
            }
            catch (Exception)
            {
                // The failed cluster's own cleanup: nothing to keep from it.
            }

            await DeployOnceAsync();
        }
    }

    private async Task DeployOnceAsync()
    {
        var builder = new TestClusterBuilder(InitialSilos);
        builder.Options.ServiceId = "auditorleans-test";

        // Real TCP gateways, so that separate clients (TestClient, the PowerShell module) can connect.
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
        builder.Properties["Test:ClockId"] = ClockId;
        builder.Properties["AuditOrleans:Storage:ConnectionString"] = ConnectionString;
        builder.Properties["AuditOrleans:DataDirectory"] = Directory.Path;
        builder.Properties["AuditOrleans:Smtp:PickupDirectory"] = Directory.Combine("outbox");
        builder.Properties["Test:LogsId"] = LogsId;
        if (UseBootstrapApiKey)
        {
            builder.Properties["AuditOrleans:Security:BootstrapApiKey"] = OwnerApiKey;
        }

        // Tests move the fake clock by hand, so a rate limit would never refill: off unless a collection sets it.
        builder.Properties["AuditOrleans:Security:IngestEventsPerSecond"] = "0";

        // Likewise failed key checks would never be forgotten, and every test client comes from
        // 127.0.0.1: the throttle is tested by a collection of its own with the defaults.
        builder.Properties["AuditOrleans:Security:FailedKeyChecksPerSource"] = "1000000";
        builder.Properties["AuditOrleans:Security:FailedKeyChecksPerKey"] = "1000000";
        foreach (var (key, value) in Settings)
        {
            builder.Properties["AuditOrleans:" + key] = value;
        }

        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        ConfigureBuilder(builder);
        Cluster = builder.Build();
        await Cluster.DeployAsync();

        // The client may have asked for the grains while the silo was joining (ClusterGrainTypes).
        Assert.True(await ClusterGrainTypes.WaitAsync(Cluster.GrainFactory, TimeSpan.FromSeconds(30), CancellationToken.None), "The test client never saw the cluster's grains.");
    }

    public virtual async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.StopAllSilosAsync();
            await Cluster.DisposeAsync();
        }

        Directory.Dispose();
    }

    /// <summary>
    /// Creates an API key through the fixture's Owner client and returns its secret, for tests
    /// that act with another role (<see cref="CreateClientAsync"/>).
    /// </summary>
    public async Task<string> CreateApiKeyAsync(ApiKeyRole role, string? projectId = null, string? description = null)
    {
        var created = await Grains.GetGrain<IApiKeyGrain>(0).CreateAsync(role, projectId, description ?? $"test {role}");
        return created.Secret;
    }

    /// <summary>
    /// Starts a separate Orleans client connected to the cluster's gateway that sends
    /// <paramref name="apiKey"/> with every call (none when null), as a program that does not use
    /// the PowerShell module would.
    /// </summary>
    public Task<TestClient> CreateClientAsync(string? apiKey, Action<IClientBuilder>? configure = null) =>
        TestClient.StartAsync(Cluster, apiKey, configure);

    /// <summary>Sends the Owner key from the fixture's client unless the call already carries a key.</summary>
    public sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.RefreshGrainTypesOften().AddOutgoingGrainCallFilter(context =>
            {
                if (RequestContext.Get(ApiKeyHeaders.RequestContextKey) is null)
                {
                    RequestContext.Set(ApiKeyHeaders.RequestContextKey, OwnerApiKey);
                }

                return context.Invoke();
            });
    }

    /// <summary>Configures each test silo as the host does, plus the shared clock.</summary>
    public sealed class SiloConfigurator : ISiloConfigurator
    {
        /// <summary>The areas of Orleans that keep the real clock in test silos (everything but grain timers).</summary>
        public static readonly string[] OrleansOwnClocks =
        [
            TimeProviderNames.Membership, TimeProviderNames.Messaging, TimeProviderNames.SystemTimers,
            TimeProviderNames.ActivationManagement, TimeProviderNames.GrainDirectory,
        ];

        public void Configure(ISiloBuilder siloBuilder)
        {
            var configuration = siloBuilder.Configuration;
            var options = SiloConfiguration.Read(configuration);
            siloBuilder.ConfigureAuditOrleans(options, configureClustering: false);
            var clock = TestClocks.Get(configuration["Test:ClockId"]!);
            siloBuilder.Services.AddSingleton<TimeProvider>(clock);

            // Orleans 10 drives its own loops from the default TimeProvider unless an area is given
            // a clock of its own: with the fake clock, membership, messaging timeouts and system
            // timers stood still until a test moved the clock, and then all ran at once. A cluster
            // whose fake clock starts far from real time (the daylight-saving collection) twice
            // failed to start: its client saw no grains, then found no gateway listening for 6 min.
            // The tests move time for AuditOrleans (its services and grain timers); Orleans' own
            // machinery keeps real time.
            foreach (var area in OrleansOwnClocks)
            {
                siloBuilder.Services.AddKeyedSingleton(area, TimeProvider.System);
            }

            // Orleans' TestingHost client asks the silos for their status through this system target.
            siloBuilder.Services.AddSingleton(new AuditOrleans.Grains.Security.GatewaySystemTargetAllowance("test.hooks"));
            siloBuilder.Services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(TestLogSink.Get(configuration["Test:LogsId"]!));
        }
    }
}
