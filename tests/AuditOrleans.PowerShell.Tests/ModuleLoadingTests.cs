using Xunit;

namespace AuditOrleans.PowerShell.Tests;

[Collection(PowerShellCollection.Name)]
public sealed class AlertCmdletTests(PowerShellClusterFixture fixture)
{
    [Fact]
    public async Task AdminLineEnablesTheAlertInTheCluster()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);

        ps.Run("Enable-AuditAlert -Name HttpForbiddenErrorRateHigh -Region fr-par").ThrowOnError();

        var configuration = await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync();
        Assert.Equal([AlertName.HttpForbiddenErrorRateHigh], configuration.Active);
    }
}
