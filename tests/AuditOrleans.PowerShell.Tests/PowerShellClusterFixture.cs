using System.Collections.Concurrent;
using AuditOrleans.Testing;
using Orleans.TestingHost;
using Xunit;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>One real silo for the collection; each test opens its own PowerShell session on it.</summary>
public sealed class PowerShellClusterFixture : AuditClusterFixture
{
    /// <summary>
    /// The module connects over TCP like any client outside the silo's process; the silos record
    /// the API key that arrives with each call to an alert configuration grain.
    /// </summary>
    protected override void ConfigureBuilder(TestClusterBuilder builder)
    {
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
        builder.AddSiloBuilderConfigurator<ApiKeyRecorder>();
    }

    /// <summary>API keys seen by the silos, per alert configuration grain key (last call wins).</summary>
    public static ConcurrentDictionary<string, string?> ApiKeysSeen { get; } = new();

    /// <summary>An incoming call filter that records the module's API key, as the access check will read it.</summary>
    public sealed class ApiKeyRecorder : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddIncomingGrainCallFilter(context =>
        {
            if (context.InterfaceMethod?.DeclaringType == typeof(IAlertConfigGrain))
            {
                ApiKeysSeen[context.TargetId.Key.ToString()!] = RequestContext.Get("auditorleans-api-key") as string;
            }

            return context.Invoke();
        });
    }

    /// <summary>A session with the module imported and connected to the cluster, on <paramref name="projectId"/>, with the fixture's Owner key unless another is given.</summary>
    public PowerShellSession Connect(string projectId, string? apiKey = null)
    {
        var session = new PowerShellSession();
        session.Run(
            "Connect-AuditCluster -Gateway $gateway -ClusterId $clusterId -ServiceId $serviceId -ProjectId $projectId -ApiKey $apiKey -ErrorAction Stop",
            ("apiKey", apiKey ?? OwnerApiKey), ("gateway", Gateway), ("clusterId", Cluster.Options.ClusterId), ("serviceId", Cluster.Options.ServiceId), ("projectId", projectId)).ThrowOnError();
        return session;
    }
}

[CollectionDefinition(Name)]
public sealed class PowerShellCollection : ICollectionFixture<PowerShellClusterFixture>
{
    public const string Name = "powershell";
}
