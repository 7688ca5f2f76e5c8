using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using AuditOrleans.Tls;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.Serialization.TypeSystem;

namespace AuditOrleans.PowerShell.Client;

/// <summary>What <c>Connect-AuditCluster</c> was asked for.</summary>
internal sealed record ConnectionSettings(
    IReadOnlyList<string> Gateways,
    string ClusterId,
    string ServiceId,
    string ProjectId,
    string? ApiKey,
    string ConsoleUrl,
    TimeSpan ConnectTimeout,
    TimeSpan ResponseTimeout)
{
    /// <summary>TLS to the gateways; null: plain TCP.</summary>
    public ConnectionTls? Tls { get; init; }

    /// <summary>How long a call keeps trying while a silo restarts or fails over (reads and Send-AuditEvent).</summary>
    public TimeSpan FailoverTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>TLS as asked for: the file of certificates to trust (null: the system's) and the name expected in the gateway's certificate (null: the gateway's host).</summary>
internal sealed record ConnectionTls(string? TrustedCertificatePath, string? ServerName);

/// <summary>
/// One session's Orleans client: a host with the client only (no console lifetime, no logging
/// providers, so it never takes over Ctrl+C or writes to the console), the settings it was made
/// with and the API key that an outgoing call filter sends with every grain call.
/// </summary>
internal sealed class AuditConnection : IAsyncDisposable
{
    /// <summary>The RequestContext key under which the API key travels with every grain call.</summary>
    public const string ApiKeyContextKey = ApiKeyHeaders.RequestContextKey;

    private readonly IHost host;
    private int disposed;

    private AuditConnection(IHost host, ConnectionSettings settings, DateTimeOffset connectedAt)
    {
        this.host = host;
        Settings = settings;
        ConnectedAt = connectedAt;
        Client = host.Services.GetRequiredService<IClusterClient>();
    }

    public ConnectionSettings Settings { get; }

    public DateTimeOffset ConnectedAt { get; }

    public IClusterClient Client { get; }

    public IGrainFactory Grains => Client;

    public bool IsDisposed => Volatile.Read(ref disposed) != 0;

    /// <summary>The gateways as the user gave them, for messages.</summary>
    public string GatewayList => string.Join(", ", Settings.Gateways);

    /// <summary>
    /// Starts a client on the given gateways. Connection attempts are retried until
    /// <see cref="ConnectionSettings.ConnectTimeout"/> has passed; then the last failure is thrown.
    /// </summary>
    /// <exception cref="ArgumentException">A gateway is not host:port or its host does not resolve.</exception>
    public static async Task<AuditConnection> ConnectAsync(ConnectionSettings settings, CancellationToken cancellationToken)
    {
        var endpoints = await ResolveAsync(settings.Gateways, cancellationToken);
        var tls = settings.Tls is { } asked ? CreateTls(asked, settings.Gateways, endpoints) : null;
        var deadline = DateTimeOffset.UtcNow + settings.ConnectTimeout;

        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ApplicationName = "AuditOrleans.PowerShell",
            ContentRootPath = AppContext.BaseDirectory,
        });

        // The default ConsoleLifetime would hook SIGINT/SIGTERM and swallow Ctrl+C of the shell.
        builder.Services.AddSingleton<IHostLifetime, ShellHostLifetime>();
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(endpoints);
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = settings.ResponseTimeout);
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromMinutes(1));
            client.RefreshGrainTypesOften();
            if (tls is not null)
            {
                client.UseAuditTls(tls);
            }

            client.UseConnectionRetryFilter(async (exception, token) =>
            {
                // A refused TLS handshake would be refused again: report it at once.
                if (TlsClientBuilderExtensions.IsTlsFailure(exception) || DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(250) >= deadline)
                {
                    return false;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), token);
                return true;
            });
            if (settings.ApiKey is { Length: > 0 } apiKey)
            {
                client.AddOutgoingGrainCallFilter(context =>
                {
                    RequestContext.Set(ApiKeyContextKey, apiKey);
                    return context.Invoke();
                });
            }

            // The grain interfaces and wire records: named explicitly, as the module's load
            // context is not the one Orleans would scan by default.
            client.Services.AddSerializer(s => s.AddAssembly(typeof(IIngestGrain).Assembly));
        });

        builder.Services.AddSingleton<TypeResolver>(new ModuleTypeResolver(ModuleTypeResolver.ModuleContext));

        var host = builder.Build();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // A safety net over the retry filter: a gateway that accepts but never answers.
            timeout.CancelAfter(settings.ConnectTimeout + TimeSpan.FromSeconds(2));
            await host.StartAsync(timeout.Token);

            // A gateway whose silo was still joining may have listed no grains (ClusterGrainTypes).
            var left = deadline - DateTimeOffset.UtcNow;
            if (!await ClusterGrainTypes.WaitAsync(host.Services.GetRequiredService<IClusterClient>(), left > TimeSpan.FromSeconds(2) ? left : TimeSpan.FromSeconds(2), timeout.Token))
            {
                throw new TimeoutException("the gateway answered, but its cluster lists no AuditOrleans grains (a silo still starting, or another Orleans service on that port)");
            }

            return new AuditConnection(host, settings, DateTimeOffset.UtcNow);
        }
        catch
        {
            await StopAsync(host);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            await StopAsync(host);
        }
    }

    private static async Task StopAsync(IHost host)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await host.StopAsync(stop.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or OrleansException or ObjectDisposedException or InvalidOperationException)
        {
            // The client could not say goodbye to a silo that is gone: nothing left to release.
        }

        host.Dispose();
    }

    /// <summary>The client's TLS settings: the trusted certificates read now (a bad file is an argument error), each resolved gateway mapped to the host it was given as.</summary>
    /// <exception cref="ArgumentException">The trusted certificate file cannot be read.</exception>
    internal static TlsClientSettings CreateTls(ConnectionTls tls, IReadOnlyList<string> gateways, IPEndPoint[] endpoints)
    {
        X509Certificate2Collection? trusted = null;
        if (tls.TrustedCertificatePath is { } path)
        {
            try
            {
                trusted = TlsCertificates.LoadTrusted(path);
            }
            catch (TlsCertificateException ex)
            {
                throw new ArgumentException($"-TrustedCertificatePath: {ex.Message}", ex);
            }
        }

        var hosts = new Dictionary<IPEndPoint, string>();
        for (var i = 0; i < gateways.Count && i < endpoints.Length; i++)
        {
            hosts.TryAdd(endpoints[i], ParseGateway(gateways[i]).Host);
        }

        return new TlsClientSettings { TrustedCertificates = trusted, ServerName = tls.ServerName, GatewayHosts = hosts };
    }

    /// <summary>Parses host:port entries ([::1]:30000 for IPv6) and resolves host names.</summary>
    internal static async Task<IPEndPoint[]> ResolveAsync(IReadOnlyList<string> gateways, CancellationToken cancellationToken)
    {
        if (gateways.Count == 0)
        {
            throw new ArgumentException("No gateway given: pass -Gateway host:port (for example 127.0.0.1:30000).");
        }

        var endpoints = new List<IPEndPoint>();
        foreach (var gateway in gateways)
        {
            var (hostName, port) = ParseGateway(gateway);
            if (IPAddress.TryParse(hostName, out var address))
            {
                endpoints.Add(new IPEndPoint(address, port));
                continue;
            }

            IPAddress[] addresses;
            try
            {
                addresses = await Dns.GetHostAddressesAsync(hostName, cancellationToken);
            }
            catch (SocketException ex)
            {
                throw new ArgumentException($"Gateway '{Scope.Printable(gateway)}': the host name '{Scope.Printable(hostName)}' does not resolve ({ex.Message}). Check the name or give an IP address.", ex);
            }

            var first = addresses.FirstOrDefault(static a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                ?? throw new ArgumentException($"Gateway '{Scope.Printable(gateway)}': the host name '{Scope.Printable(hostName)}' has no address. Check the name or give an IP address.");
            endpoints.Add(new IPEndPoint(first, port));
        }

        return [.. endpoints];
    }

    internal static (string Host, int Port) ParseGateway(string gateway)
    {
        var text = gateway.Trim();
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : "";
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            host = "";
        }

        if (host.Length == 0 || !int.TryParse(text[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException(
                $"Gateway '{Scope.Printable(gateway)}' is not host:port. Give the silo's gateway endpoint, for example 127.0.0.1:30000 or [::1]:30000.");
        }

        return (host, port);
    }

    /// <summary>A host lifetime that leaves the shell's signals alone.</summary>
    private sealed class ShellHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
