using System.Management.Automation;
using AuditOrleans.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>
/// The module against two real silo processes clustered on a throwaway PostgreSQL server: a
/// session connected with both gateways keeps sending when the silo that handles its project
/// is killed, and nothing is lost or stored twice.
/// </summary>
public sealed class FailoverTests(ITestOutputHelper output)
{
    private const string ServiceId = "auditorleans-ps-failover";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    [PostgresFact]
    public async Task SendAuditEventKeepsGoingWhenTheSiloOfItsProjectIsKilled()
    {
        await using var server = await PostgresServer.StartAsync();
        var connectionString = await server.CreateDatabaseAsync("psfailover");
        var clusterId = "ps-" + Guid.NewGuid().ToString("N")[..12];
        var ports = FreePort.Next(4);
        var checkpointKey = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var a = NewSilo("silo-a", connectionString, clusterId, ports[0], ports[1], checkpointKey);
        await using var b = NewSilo("silo-b", connectionString, clusterId, ports[2], ports[3], checkpointKey);
        try
        {
            await Task.WhenAll(a.StartAsync(StartTimeout), b.StartAsync(StartTimeout));
            var project = PowerShellClusterFixture.NewProjectId("psfo");
            var t0 = DateTimeOffset.UtcNow.AddMinutes(-3);
            using var ps = new PowerShellSession();
            ps.Run(
                "Connect-AuditCluster -Gateway $gateways -ClusterId $clusterId -ServiceId $serviceId -ProjectId $p -ApiKey $key -TimeoutSec 30 -ErrorAction Stop; " +
                "Enable-AuditAlert -Name HttpForbiddenErrorRateHigh -Region fr-par; Add-AuditNotificationContact -Email soc@example.com",
                ("gateways", $"127.0.0.1:{ports[1]},127.0.0.1:{ports[3]}"), ("clusterId", clusterId), ("serviceId", ServiceId), ("p", project),
                ("key", AuditClusterFixture.OwnerApiKey)).ThrowOnError();

            const string send =
                "$from..$to | ForEach-Object { [pscustomobject]@{ recorded_at = $t0.AddSeconds($_).ToString('o'); locality = 'fr-par'; status_code = 403; " +
                "method_name = 'ListServers'; product_name = 'instance'; principal_id = \"user-$($_ % 4)\"; source_ip = '192.0.2.1' } } | Send-AuditEvent -PassThru";
            var first = Assert.Single(ps.Run(send, ("from", 0), ("to", 11), ("t0", t0)).ThrowOnError().Output);
            Assert.Equal(12, first.Properties["Accepted"].Value);

            // Kill -9 the silo that holds the project-region's detector: the next batch must go to the other one.
            SiloProcess victim;
            await using (var client = await TestClient.ConnectAsync(clusterId, ServiceId, [new(System.Net.IPAddress.Loopback, ports[1]), new(System.Net.IPAddress.Loopback, ports[3])], StartTimeout, AuditClusterFixture.OwnerApiKey))
            {
                var host = await client.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(client.Client.GetGrain<IDetectorGrain>(Scope.Key(project, "fr-par")));
                Assert.NotNull(host);
                victim = host.Endpoint.Port == ports[0] ? a : b;
            }

            await victim.KillAsync();
            var clock = System.Diagnostics.Stopwatch.StartNew();

            // Every read cmdlet rides out the failover as Send-AuditEvent does: at once after the
            // kill, calls routed to the dead silo get no answer until the cluster declares it dead.
            using var dir = new TempDirectory();
            var reads = ps.Run(
                "Get-AuditAlert -Region fr-par | Out-Null; Get-AuditEvent -Region fr-par -RecordedAfter $after | Out-Null; " +
                "Export-AuditEvent -Path $export -Region fr-par -RecordedAfter $after; Get-AuditAlertHistory | Out-Null; " +
                "Get-AuditNotificationContact | Out-Null; Get-AuditTrailCheckpoint -Region fr-par | Out-Null; " +
                "Test-AuditTrailIntegrity -Region fr-par | Out-Null; Get-AuditApiKey | Out-Null",
                ("after", t0.AddMinutes(-1)), ("export", dir.Combine("export.jsonl")));
            output.WriteLine($"every read cmdlet ran {clock.Elapsed.TotalSeconds:0.0} s after kill -9 of {victim.Name}; warnings: {string.Join(" | ", reads.Warnings)}");
            reads.ThrowOnError();

            clock.Restart();
            var second = ps.Run(send, ("from", 12), ("to", 20), ("t0", t0));
            output.WriteLine($"9 events sent {clock.Elapsed.TotalSeconds:0.0} s after kill -9 of {victim.Name}; warnings: {string.Join(" | ", second.Warnings)}");
            second.ThrowOnError();
            var summary = Assert.Single(second.Output);
            Assert.Equal(9, (int)summary.Properties["Accepted"].Value + (int)summary.Properties["Duplicates"].Value);
            Assert.Equal(0, summary.Properties["Rejected"].Value);

            // 21 events, each once, the chain intact, one alert.
            var stored = ps.Run("Get-AuditEvent -Region fr-par -RecordedAfter $after -First 100", ("after", t0.AddMinutes(-1))).ThrowOnError().Output;
            Assert.Equal(21, stored.Count);
            Assert.Equal(21, stored.Select(static e => (string)e.Properties["Id"].Value).Distinct().Count());
            var integrity = Assert.Single(ps.Run("Test-AuditTrailIntegrity -Region fr-par").ThrowOnError().Output);
            Assert.Equal((true, 21L), ((bool)integrity.Properties["IsValid"].Value, (long)integrity.Properties["HeadSequence"].Value));
            var fired = Assert.Single(ps.Run("Get-AuditAlertHistory").ThrowOnError().Output);
            Assert.Equal("HttpForbiddenErrorRateHigh", fired.Properties["Name"].Value?.ToString());
        }
        catch
        {
            output.WriteLine(a.Output);
            output.WriteLine(b.Output);
            throw;
        }
    }

    private static SiloProcess NewSilo(string name, string connectionString, string clusterId, int siloPort, int gatewayPort, string checkpointKey)
    {
        var silo = SiloProcess.PostgresClusterMember(name, connectionString, clusterId, ServiceId, siloPort, gatewayPort, checkpointKey);
        silo.Settings["Security:BootstrapApiKey"] = AuditClusterFixture.OwnerApiKey;
        silo.Settings["Smtp:PickupDirectory"] = Path.Combine(silo.WorkingDirectory, "outbox");
        return silo;
    }
}
