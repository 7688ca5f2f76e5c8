using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using AuditOrleans.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>
/// One real silo host per test collection, with access control on and an Owner key, and an
/// Orleans client connected to its gateway to send events and set up projects the way the
/// PowerShell module does. Tests use their own project ids.
/// </summary>
public sealed class ConsoleHostFixture : IAsyncLifetime
{
    public const string ClusterId = "auditorleans-console-tests";

    private readonly TempDirectory directory = new("auditorleans-console");
    private readonly ConcurrentDictionary<string, Lazy<Task<object>>> shared = new(StringComparer.Ordinal);
    private IHost? clientHost;

    public SiloProcess Silo { get; private set; } = null!;

    public IClusterClient Client => clientHost!.Services.GetRequiredService<IClusterClient>();

    /// <summary>The Owner key the silo was started with (Security:BootstrapApiKey).</summary>
    public string OwnerKey { get; } = $"ao_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24))}";

    public string BaseUrl => Silo.Urls;

    /// <summary>The silos' SQLite file.</summary>
    public string DatabasePath => directory.Combine("auditorleans.db");

    /// <summary>The installation's checkpoint key, the same on every silo started here (as a cluster requires).</summary>
    public string CheckpointKey { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public int GatewayPort { get; } = FreePort.Next();

    /// <summary>Where the silo writes alert emails (no SMTP host is configured).</summary>
    public string PickupDirectory => directory.Combine("outbox");

    public static string NewProjectId(string prefix = "c") => $"{prefix}-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        Silo = NewSilo("console", "data", GatewayPort);
        await Silo.StartAsync(TimeSpan.FromSeconds(90));

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client => client.UseLocalhostClustering(GatewayPort, ClusterId, ClusterId).RefreshGrainTypesOften().AddOutgoingGrainCallFilter(context =>
        {
            // Access control is on: the test's own client is an Owner.
            RequestContext.Set(ApiKeyHeaders.RequestContextKey, OwnerKey);
            return context.Invoke();
        }));
        clientHost = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await clientHost.StartAsync(timeout.Token);
        Assert.True(await ClusterGrainTypes.WaitAsync(clientHost.Services.GetRequiredService<IClusterClient>(), TimeSpan.FromSeconds(30), timeout.Token), "The test client never saw the cluster's grains.");
    }

    /// <summary>
    /// Another silo process on the same database (its own ports, data directory and Localhost
    /// cluster), as a second silo behind a load balancer would be; the caller starts and disposes it.
    /// </summary>
    public SiloProcess NewSiloOnTheSameDatabase(string name) => NewSilo(name, name + "-data", FreePort.Next());

    public async Task DisposeAsync()
    {
        if (clientHost is not null)
        {
            await clientHost.StopAsync();
            clientHost.Dispose();
        }

        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }

        directory.Dispose();
    }

    private SiloProcess NewSilo(string name, string dataDirectory, int gatewayPort)
    {
        var urls = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{FreePort.Next()}");
        return new SiloProcess(
            name,
            new Dictionary<string, string>
            {
                ["Storage:ConnectionString"] = $"Data Source={DatabasePath}",
                ["CheckpointKey"] = CheckpointKey,
                ["DataDirectory"] = directory.Combine(dataDirectory),
                ["Smtp:PickupDirectory"] = gatewayPort == GatewayPort ? PickupDirectory : directory.Combine(name + "-outbox"),
                ["Cluster:SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
                ["Cluster:GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
                ["Cluster:ClusterId"] = gatewayPort == GatewayPort ? ClusterId : $"{ClusterId}-{name}",
                ["Cluster:ServiceId"] = gatewayPort == GatewayPort ? ClusterId : $"{ClusterId}-{name}",
                ["Console:BaseUrl"] = urls,
                ["Security:Enabled"] = "true",
                ["Security:BootstrapApiKey"] = OwnerKey,
            },
            urls,
            directory.Path);
    }

    /// <summary>A console session over HTTP (cookies, redirects and forms handled like a browser would).</summary>
    public ConsoleSession NewSession() => new(BaseUrl);

    /// <summary>
    /// The Audit Trail link of the alert email written for a project to the silo's pickup
    /// directory (no SMTP host is configured), waiting for the outbox to write it.
    /// </summary>
    public async Task<string> ReadEmailLinkAsync(string projectId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (System.IO.Directory.Exists(PickupDirectory))
            {
                foreach (var file in System.IO.Directory.EnumerateFiles(PickupDirectory, "*.eml"))
                {
                    using var message = await MimeKit.MimeMessage.LoadAsync(file);
                    var match = System.Text.RegularExpressions.Regex.Match(message.TextBody ?? "", @"https?://\S+/audit-trail\?\S+");
                    if (match.Success && match.Value.Contains("project_id=" + projectId, StringComparison.Ordinal))
                    {
                        return match.Value;
                    }
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No alert email for project {projectId} in {PickupDirectory} after 30 s. Silo output:\n{Silo.Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits until every delivery of the project's firings is Delivered.</summary>
    public async Task WaitForDeliveryAsync(string projectId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var history = await Client.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = projectId });
            if (history.Count > 0 && history.All(static a => a.Deliveries.All(static d => d.State == DeliveryState.Delivered)))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The alerts of {projectId} were not all delivered within 30 s.");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Runs <paramref name="create"/> once per fixture and shares its result between the tests of the collection.</summary>
    public async Task<T> SharedAsync<T>(string key, Func<Task<T>> create)
        where T : class =>
        (T)await shared.GetOrAdd(key, _ => new Lazy<Task<object>>(async () => await create())).Value;

    /// <summary>A new API key (created by the Owner client, as New-AuditApiKey does): its secret and its id.</summary>
    public async Task<(string Secret, string Id)> NewKeyAsync(ApiKeyRole role, string projectId)
    {
        var created = await Client.GetGrain<IApiKeyGrain>(0).CreateAsync(role, projectId, "console test");
        return (created.Secret, created.Key.Id);
    }

    public Task<IngestResult> SendAsync(string projectId, params AuditEvent[] events) =>
        Client.GetGrain<IIngestGrain>(0).IngestAsync(projectId, events);

    public Task<AlertConfiguration> EnableAsync(string projectId, string region, params AlertName[] alerts) =>
        Client.GetGrain<IAlertConfigGrain>(Scope.Key(projectId, region)).SetActiveAsync(alerts.ToDictionary(static a => a, static _ => true));
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleHostFixture>
{
    public const string Name = "console host";
}
