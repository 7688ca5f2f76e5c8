using System.Diagnostics;
using System.Globalization;
using AuditOrleans.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>
/// A connected session while its only silo restarts: the session recovers by itself, says so
/// in plain words (no Orleans internals, no advice to reconnect), and gives up with a clear
/// error after -FailoverTimeoutSec when the silo stays away.
/// </summary>
public sealed class SiloRestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ASessionRidesOutASiloRestartAndGivesUpClearlyWhenItStaysDown()
    {
        var ports = FreePort.Next(2);
        await using var silo = new SiloProcess("restarting", new Dictionary<string, string>
        {
            ["Cluster:SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["Cluster:GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
        });
        try
        {
            await silo.StartAsync(TimeSpan.FromSeconds(90));
            var project = PowerShellClusterFixture.NewProjectId("psrs");
            const string Connect = "Connect-AuditCluster -Gateway $gateway -ProjectId $project -ApiKey $key -FailoverTimeoutSec $wait -TimeoutSec 60";
            (string, object?)[] values = [("gateway", $"127.0.0.1:{ports[1]}"), ("project", project), ("key", AuditClusterFixture.OwnerApiKey)];
            using var patient = new PowerShellSession();
            patient.Run(Connect + "; Get-AuditAlert -Region fr-par | Out-Null", [.. values, ("wait", 90)]).ThrowOnError();
            using var hasty = new PowerShellSession();
            hasty.Run(Connect, [.. values, ("wait", 3)]).ThrowOnError();

            await silo.StopAsync();
            var restart = Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                await silo.StartAsync(TimeSpan.FromSeconds(90));
            });
            var recovered = patient.Run("Get-AuditAlert -Region fr-par");
            await restart;

            output.WriteLine("warnings: " + string.Join(" | ", recovered.Warnings));
            recovered.ThrowOnError();
            Assert.Equal(5, recovered.Output.Count);
            var warning = Assert.Single(recovered.Warnings);
            AssertPlain(warning);
            Assert.DoesNotContain("Connect-AuditCluster", warning, StringComparison.Ordinal);

            // Down for good: a bounded wait, then one error that says what to do.
            await silo.StopAsync();
            var clock = Stopwatch.StartNew();
            var failed = hasty.Run("Get-AuditAlert -Region fr-par");
            clock.Stop();
            var error = Assert.Single(failed.Errors);
            Assert.StartsWith("ClusterUnreachable,", error.FullyQualifiedErrorId);
            AssertPlain(error.Exception.Message);
            Assert.Contains($"127.0.0.1:{ports[1]}", error.Exception.Message, StringComparison.Ordinal);
            Assert.Contains("reconnects by itself", error.ErrorDetails.RecommendedAction, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"gave up after {clock.Elapsed}");
        }
        catch
        {
            output.WriteLine(silo.Output);
            throw;
        }
    }

    /// <summary>No Orleans message dumps: silo addresses (S127.0.0.1:30000:0), grain ids, internal retry delays.</summary>
    private static void AssertPlain(string text)
    {
        Assert.DoesNotMatch(@"S\d+\.\d+\.\d+\.\d+:\d+:\d+", text);
        Assert.DoesNotContain("will retry after", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Request [", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
    }
}
