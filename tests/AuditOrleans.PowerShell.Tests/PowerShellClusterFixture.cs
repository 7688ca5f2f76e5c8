using AuditOrleans.Testing;
using Orleans.TestingHost;
using Xunit;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>One real silo for the collection; each test opens its own PowerShell session on it.</summary>
public sealed class PowerShellClusterFixture : AuditClusterFixture
{
    /// <summary>The module connects over TCP like any client outside the silo's process.</summary>
    protected override void ConfigureBuilder(TestClusterBuilder builder) => builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;

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
