using System.Net;
using AuditOrleans.Tls;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.TestingHost;

namespace AuditOrleans.Testing;

/// <summary>
/// An external Orleans client (as the PowerShell module is) with a static list of gateways. It
/// sends an API key in the RequestContext of every call: by default the fixtures' Owner key
/// (<see cref="AuditClusterFixture.OwnerApiKey"/>), or the one given (none when null).
/// </summary>
public sealed class TestClient : IAsyncDisposable
{
    private readonly IHost host;

    private TestClient(IHost host)
    {
        this.host = host;
        Client = host.Services.GetRequiredService<IClusterClient>();
    }

    public IClusterClient Client { get; }

    public IGrainFactory Grains => Client;

    public static Task<TestClient> ConnectAsync(string clusterId, string serviceId, IEnumerable<int> gatewayPorts, TimeSpan timeout) =>
        ConnectAsync(clusterId, serviceId, gatewayPorts.Select(static p => new IPEndPoint(IPAddress.Loopback, p)), timeout, AuditClusterFixture.OwnerApiKey);

    /// <summary>A client of a test cluster, connected to its primary silo's gateway over TCP.</summary>
    public static Task<TestClient> StartAsync(TestCluster cluster, string? apiKey, Action<IClientBuilder>? configure = null, TlsClientSettings? tls = null, TimeSpan? timeout = null) =>
        ConnectAsync(cluster.Options.ClusterId, cluster.Options.ServiceId, [cluster.Primary!.GatewayAddress!.Endpoint], timeout ?? TimeSpan.FromSeconds(20), apiKey, configure, tls);

    /// <summary>A client of the given gateways; <paramref name="tls"/> turns TLS on (null: plain TCP).</summary>
    public static async Task<TestClient> ConnectAsync(
        string clusterId, string serviceId, IEnumerable<IPEndPoint> gateways, TimeSpan timeout, string? apiKey, Action<IClientBuilder>? configure = null, TlsClientSettings? tls = null)
    {
        var endpoints = gateways.ToArray();
        var host = new HostBuilder()
            .ConfigureLogging(static l => l.SetMinimumLevel(LogLevel.Warning))
            .UseOrleansClient(client =>
            {
                client.UseStaticClustering(endpoints);
                client.RefreshGrainTypesOften();
                client.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = clusterId;
                    o.ServiceId = serviceId;
                });
                client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(20));
                client.AddOutgoingGrainCallFilter(context =>
                {
                    if (apiKey is not null)
                    {
                        RequestContext.Set(ApiKeyHeaders.RequestContextKey, apiKey);
                    }

                    return context.Invoke();
                });
                if (tls is not null)
                {
                    client.UseAuditTls(tls);
                    // A refused handshake will be refused again: fail at once with its reason.
                    client.UseConnectionRetryFilter((exception, _) => Task.FromResult(!TlsClientBuilderExtensions.IsTlsFailure(exception)));
                }

                configure?.Invoke(client);
            })
            .Build();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await host.StartAsync(limit.Token);
            if (!await ClusterGrainTypes.WaitAsync(host.Services.GetRequiredService<IClusterClient>(), timeout, limit.Token))
            {
                throw new TimeoutException("The client never saw the cluster's grains.");
            }
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new TestClient(host);
    }

    public async ValueTask DisposeAsync()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await host.StopAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            // A gateway that is gone cannot be told goodbye.
        }

        host.Dispose();
    }
}
