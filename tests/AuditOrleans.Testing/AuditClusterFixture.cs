using AuditOrleans.Grains;
using AuditOrleans.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
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
    /// <summary>The clock starts here; tests advance it.</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);

    public AuditClusterFixture()
    {
        (ClockId, Clock) = TestClocks.Create(Epoch);
    }

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
        var builder = new TestClusterBuilder(InitialSilos);
        builder.Options.ServiceId = "auditorleans-test";
        builder.Properties["Test:ClockId"] = ClockId;
        builder.Properties["AuditOrleans:Storage:ConnectionString"] = ConnectionString;
        builder.Properties["AuditOrleans:DataDirectory"] = Directory.Path;
        builder.Properties["AuditOrleans:Smtp:PickupDirectory"] = Directory.Combine("outbox");
        foreach (var (key, value) in Settings)
        {
            builder.Properties["AuditOrleans:" + key] = value;
        }

        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        ConfigureBuilder(builder);
        Cluster = builder.Build();
        await Cluster.DeployAsync();
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

    /// <summary>Configures each test silo as the host does, plus the shared clock.</summary>
    public sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var configuration = siloBuilder.Configuration;
            var options = SiloConfiguration.Read(configuration);
            siloBuilder.ConfigureAuditOrleans(options, configureClustering: false);
            var clock = TestClocks.Get(configuration["Test:ClockId"]!);
            siloBuilder.Services.AddSingleton<TimeProvider>(clock);
        }
    }
}
