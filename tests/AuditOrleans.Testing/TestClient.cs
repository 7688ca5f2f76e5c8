using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace AuditOrleans.Testing;

/// <summary>An external Orleans client (as the PowerShell module is) with a static list of gateways.</summary>
public sealed class TestClient : IAsyncDisposable
{
    private readonly IHost host;

    private TestClient(IHost host)
    {
        this.host = host;
        Client = host.Services.GetRequiredService<IClusterClient>();
    }

    public IClusterClient Client { get; }

    public static async Task<TestClient> ConnectAsync(string clusterId, string serviceId, IEnumerable<int> gatewayPorts, TimeSpan timeout)
    {
        var endpoints = gatewayPorts.Select(static p => new IPEndPoint(IPAddress.Loopback, p)).ToArray();
        var host = new HostBuilder()
            .ConfigureLogging(static l => l.SetMinimumLevel(LogLevel.Warning))
            .UseOrleansClient(client =>
            {
                client.UseStaticClustering(endpoints);
                client.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = clusterId;
                    o.ServiceId = serviceId;
                });
                client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(20));
            })
            .Build();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await host.StartAsync(limit.Token);
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
