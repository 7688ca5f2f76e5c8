using System.Management.Automation;
using Xunit;

namespace AuditOrleans.PowerShell.Tests;

[Collection(PowerShellCollection.Name)]
public sealed class AlertCmdletTests(PowerShellClusterFixture fixture)
{
    private async Task<IReadOnlySet<AlertName>> ActiveAsync(string project, string region) =>
        (await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, region)).GetAsync()).Active;

    [Fact]
    public async Task AdminLineEnablesTheAlertInTheCluster()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);

        ps.Run("Enable-AuditAlert -Name HttpForbiddenErrorRateHigh -Region fr-par").ThrowOnError();

        Assert.Equal([AlertName.HttpForbiddenErrorRateHigh], await ActiveAsync(project, "fr-par"));
        Assert.Empty(await ActiveAsync(project, "nl-ams"));
    }

    [Fact]
    public async Task EnableDisableGetRoundTrip()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);

        var enabled = ps.Run("Enable-AuditAlert -Name ApiKeyCreated, ApiKeyDeleted -Region nl-ams-1 -PassThru").ThrowOnError();
        Assert.Equal(["ApiKeyCreated", "ApiKeyDeleted"], enabled.Property("Name"));
        Assert.All(enabled.Property("Active"), a => Assert.Equal(true, a));
        Assert.All(enabled.Property("Region"), r => Assert.Equal("nl-ams", r));

        var all = ps.Run("Get-AuditAlert -Region nl-ams").ThrowOnError();
        Assert.Equal(5, all.Output.Count);
        Assert.Equal(["ApiKeyCreated", "ApiKeyDeleted"],
            all.Output.Where(static a => (bool)a.Properties["Active"].Value).Select(static a => a.Properties["Name"].Value));
        Assert.Equal("Medium", all.Output[0].Properties["Severity"].Value.ToString());
        Assert.False(string.IsNullOrEmpty((string)all.Output[0].Properties["Description"].Value));

        ps.Run("Disable-AuditAlert -Name ApiKeyCreated -Region nl-ams").ThrowOnError();
        Assert.Equal([AlertName.ApiKeyDeleted], await ActiveAsync(project, "nl-ams"));

        var one = Assert.Single(ps.Run("Get-AuditAlert -Name ApiKeyCreated -Region nl-ams").ThrowOnError().Output);
        Assert.Equal(false, one.Properties["Active"].Value);
    }

    [Fact]
    public async Task EnablingAnApiKeyAlertOutsideFrParWarnsWhereIamEventsCount()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);

        var run = ps.Run("Enable-AuditAlert -Name ApiKeyCreated, ApiKeyCreationUnauthorized, HttpForbiddenErrorRateHigh -Region nl-ams").ThrowOnError();

        // Accepted as asked, and explained: IAM events are global and count in fr-par only.
        Assert.Equal([AlertName.ApiKeyCreated, AlertName.ApiKeyCreationUnauthorized, AlertName.HttpForbiddenErrorRateHigh], (await ActiveAsync(project, "nl-ams")).Order());
        Assert.Equal(2, run.Warnings.Count);
        Assert.Contains(run.Warnings, static w => w.StartsWith("ApiKeyCreated can never fire in nl-ams", StringComparison.Ordinal)
            && w.Contains("IAM events are global, so they always count in fr-par", StringComparison.Ordinal)
            && w.Contains("Enable-AuditAlert -Name ApiKeyCreated -Region fr-par", StringComparison.Ordinal));
        Assert.Contains(run.Warnings, static w => w.StartsWith("ApiKeyCreationUnauthorized in nl-ams fires only for refused CreateAPIKey calls of products that are not global", StringComparison.Ordinal));

        // In fr-par, and when switching off, nothing to say.
        Assert.Empty(ps.Run("Enable-AuditAlert -Name ApiKey* -Region fr-par; Disable-AuditAlert -Name ApiKeyCreated -Region nl-ams").ThrowOnError().Warnings);
    }

    [Fact]
    public void TheHelpOfEnableAuditAlertSaysWhereIamEventsCount()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());

        var description = string.Join("\n", ps.Run("(Get-Help Enable-AuditAlert -Full).description | ForEach-Object { $_.Text }").ThrowOnError().Output.Select(static o => o.ToString()));
        var examples = ps.Run("(Get-Help Enable-AuditAlert -Examples).examples.example | ForEach-Object { $_.code }").ThrowOnError().Output.Select(static o => o.ToString()).ToList();

        Assert.Contains("IAM, account and edge-services events are global and always count in fr-par", description, StringComparison.Ordinal);
        Assert.Contains("Get-AuditAlert -Region fr-par | Where-Object Name -like 'ApiKey*' | Enable-AuditAlert -PassThru", examples);
        Assert.DoesNotContain(examples, static e => e!.Contains("ApiKey", StringComparison.Ordinal) && e.Contains("nl-ams", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WhatIfChangesNothing()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        ps.Run("Enable-AuditAlert -Name ApiKeyDeleted -Region pl-waw").ThrowOnError();

        var run = ps.Run("Enable-AuditAlert -Name HttpForbiddenErrorRateHigh -Region pl-waw -WhatIf; Disable-AuditAlert -Name ApiKeyDeleted -Region pl-waw -WhatIf -PassThru")
            .ThrowOnError();

        Assert.Empty(run.Output);
        Assert.Equal([AlertName.ApiKeyDeleted], await ActiveAsync(project, "pl-waw"));
    }

    [Fact]
    public async Task PipelineFromGetAuditAlertAppliesTheFilteredAlerts()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);

        var run = ps.Run("Get-AuditAlert -Region fr-par | Where-Object Name -like 'ApiKey*' | Enable-AuditAlert -PassThru").ThrowOnError();

        Assert.Equal(4, run.Output.Count);
        Assert.Equal(
            [AlertName.ApiKeyCreated, AlertName.ApiKeyCreationUnauthorized, AlertName.ApiKeyDeleted, AlertName.ApiKeyDeletionUnauthorized],
            (await ActiveAsync(project, "fr-par")).Order());
        var configuration = await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync();
        Assert.Equal(1, configuration.Version);
    }

    [Fact]
    public async Task UnknownAlertNameIsAnErrorListingTheFiveNames()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);

        var run = ps.Run("Enable-AuditAlert -Name HttpForbiddenErrorRateHigh, ApiKeyStolen -Region fr-par");

        var error = Assert.Single(run.Errors);
        Assert.Equal("UnknownAlertName,AuditOrleans.PowerShell.Cmdlets.EnableAuditAlertCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        foreach (var name in AlertCatalog.All.Select(static a => a.Name.ToString()))
        {
            Assert.Contains(name, error.Exception.Message);
        }

        Assert.Contains("ApiKeyStolen", error.Exception.Message);
        Assert.Equal([AlertName.HttpForbiddenErrorRateHigh], await ActiveAsync(project, "fr-par"));
    }

    [Fact]
    public void UnknownRegionIsAnErrorListingTheValidRegions()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());

        var enable = Assert.Single(ps.Run("Enable-AuditAlert -Name ApiKeyCreated -Region mars-1").Errors);
        var get = Assert.Single(ps.Run("Get-AuditAlert -Region atlantis").Errors);

        foreach (var error in new[] { enable, get })
        {
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Contains("fr-par, nl-ams, pl-waw", error.Exception.Message);
            Assert.DoesNotContain("   at ", error.Exception.Message);
        }

        Assert.StartsWith("EnableAuditAlertFailed,", enable.FullyQualifiedErrorId);
        Assert.Contains("mars", enable.Exception.Message);
    }
}
