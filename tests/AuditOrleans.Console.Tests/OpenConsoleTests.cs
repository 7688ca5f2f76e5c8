using System.Globalization;
using System.Net;
using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>With Security:Enabled=false the console and /metrics are open, and forms are still protected against forgery.</summary>
public sealed class OpenConsoleTests
{
    [Fact]
    public async Task WithoutAccessControlTheConsoleAndMetricsNeedNoKey()
    {
        using var directory = new TempDirectory("auditorleans-open-console");
        await using var silo = new SiloProcess(
            "open-console",
            new Dictionary<string, string>
            {
                ["Storage:ConnectionString"] = $"Data Source={directory.Combine("auditorleans.db")}",
                ["DataDirectory"] = directory.Combine("data"),
                ["Smtp:PickupDirectory"] = directory.Combine("outbox"),
                ["Cluster:SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
                ["Cluster:GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
                ["Security:Enabled"] = "false",
            },
            workingDirectory: directory.Path);
        await silo.StartAsync(TimeSpan.FromSeconds(90));
        using var session = new ConsoleSession(silo.Urls);

        var alerts = await session.GetAsync("/alerts?project_id=open-project&region=pl-waw");
        Assert.Equal(HttpStatusCode.OK, alerts.Status);
        Assert.Contains("Access control is off (Security:Enabled=false)", alerts.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Found, (await session.PostFormAsync("/alerts", AlertsTests.Form("open-project", "pl-waw", ["ApiKeyCreated"], []))).Status);
        Assert.Equal(["ApiKeyCreated"], AlertsTests.Checked((await session.GetAsync("/alerts?project_id=open-project&region=pl-waw")).Body));
        Assert.Equal(HttpStatusCode.BadRequest, (await session.PostFormAsync("/alerts", AlertsTests.Form("open-project", "pl-waw", [], ["ApiKeyCreated"]), withCsrf: false)).Status);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync("/metrics")).Status);
        Assert.Equal("/audit-trail?project_id=p", (await session.GetAsync("/sign-in?return_url=" + Uri.EscapeDataString("/audit-trail?project_id=p"))).Location);
    }
}
