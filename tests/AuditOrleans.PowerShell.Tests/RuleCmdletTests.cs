using System.Management.Automation;
using Xunit;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>
/// Custom alert rules and event kinds through the module (docs/rules.md, docs/events.md, Event
/// kinds): authentication events sent as ConvertFrom-Json returns the provider's combined
/// listing, rules created, switched, renamed, tested on a JSON lines file and removed.
/// </summary>
[Collection(PowerShellCollection.Name)]
public sealed class RuleCmdletTests(PowerShellClusterFixture fixture)
{
    private const string FailedSignIn = "event.kind == 'authentication' && event.result == 'failure'";

    private static string SignInLine(string organization, DateTimeOffset at, string result, string ip) =>
        $$$"""{"auth":{"id":"{{{Guid.NewGuid()}}}","recorded_at":"{{{AuditEventJson.FormatTime(at)}}}","organization_id":"{{{organization}}}","source_ip":"{{{ip}}}","result":"{{{result}}}","method":"password","origin":"public_api","country_code":"NL"}}""";

    [Fact]
    public async Task SignInsInTheCombinedEnvelopeFireTheRuleAndTheFileReplayAgrees()
    {
        var organization = PowerShellClusterFixture.NewProjectId("psrule");
        using var ps = fixture.Connect(organization);
        using var dir = new AuditOrleans.Testing.TempDirectory();
        var file = Path.Combine(dir.Path, "sign-ins.jsonl");
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-20);
        var lines = Enumerable.Range(0, 12).Select(i => SignInLine(organization, t0.AddSeconds(i * 40), i % 4 == 1 ? "success" : "failure", i % 2 == 0 ? "203.0.113.9" : "198.51.100.4")).ToList();
        File.WriteAllLines(file, lines);

        var created = Assert.Single(ps.Run(
            "New-AuditAlertRule -Name failed-sign-ins -Query $q -EvaluationWindow 00:02:00 -Occurrences 3 -Severity Error -Description 'three failures in two minutes'",
            ("q", FailedSignIn)).ThrowOnError().Output);
        Assert.Equal(("fr-par", true, false), ((string)created.Properties["Region"].Value, (bool)created.Properties["Enabled"].Value, (bool)created.Properties["DryRun"].Value));

        var tested = ps.Run("Test-AuditAlertRule -Path $file -Query $q -EvaluationWindow 00:02:00 -Occurrences 3", ("file", file), ("q", FailedSignIn)).ThrowOnError();
        var summary = Assert.Single(ps.Run("$lines | ForEach-Object { $_ } | Send-AuditEvent -PassThru", ("lines", lines.Select(PSInput.FromJson).ToArray())).ThrowOnError().Output);
        Assert.Equal(12, (int)summary.Properties["Accepted"].Value);

        var live = ps.Run("Get-AuditAlertHistory -Region fr-par | Where-Object Name -eq 'failed-sign-ins' | Where-Object Kind -eq 'Firing'").ThrowOnError().Output;
        var wouldFire = tested.Output.Where(static m => (bool)m.Properties["Fires"].Value).ToList();
        Assert.Equal(live.Count + 1, ps.Run("Get-AuditAlertHistory -Name failed-sign-ins").ThrowOnError().Output.Count); // and its creation
        Assert.NotEmpty(live);
        Assert.Equal(live.Count, wouldFire.Count);
        Assert.Equal(9, tested.Output.Count);
        var firings = await fixture.Grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = organization, Alert = AlertName.CustomRule });
        Assert.Equal(
            firings.Where(static f => f.Kind == AlertKind.Firing).Select(static f => f.Facts.EventId).Order(),
            wouldFire.Select(static m => (string)m.Properties["EventId"].Value).Order());

        var stored = ps.Run("Get-AuditEvent -Kind Authentication -RecordedAfter $since", ("since", t0.UtcDateTime.AddMinutes(-1))).ThrowOnError().Output;
        Assert.Equal(12, stored.Count);
        Assert.All(stored, static e => Assert.Equal("Authentication", e.Properties["Kind"].Value.ToString()));
        Assert.Empty(ps.Run("Get-AuditEvent -Kind Api -RecordedAfter $since", ("since", t0.UtcDateTime.AddMinutes(-1))).ThrowOnError().Output);
        var export = Path.Combine(dir.Path, "export.jsonl");
        ps.Run("Export-AuditEvent -Path $path -Kind Authentication -RecordedAfter $since", ("path", export), ("since", t0.UtcDateTime.AddMinutes(-1))).ThrowOnError();
        Assert.All(File.ReadAllLines(export), static l => Assert.StartsWith("{\"auth\":{", l, StringComparison.Ordinal));
        Assert.True((bool)Assert.Single(ps.Run("Test-AuditTrailIntegrity -Region fr-par").ThrowOnError().Output).Properties["IsValid"].Value);
    }

    [Fact]
    public void ARefusedQueryIsAnErrorWithItsPosition()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId("psrule"));

        var run = ps.Run("New-AuditAlertRule -Name bad -Query \"event.result == 'failure' && event.contry_code == 'FR'\" -EvaluationWindow 00:05:00 -Occurrences 1 -Severity Info");

        var error = Assert.Single(run.Errors);
        Assert.Equal("InvalidRuleQuery,AuditOrleans.PowerShell.Cmdlets.NewAuditAlertRuleCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Contains("line 1, column 36", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("contry_code", error.Exception.Message, StringComparison.Ordinal);
        Assert.Empty(ps.Run("Get-AuditAlertRule").ThrowOnError().Output);
    }

    [Fact]
    public async Task RulesAreSwitchedRenamedAndRemovedByName()
    {
        var project = PowerShellClusterFixture.NewProjectId("psrule");
        using var ps = fixture.Connect(project);
        ps.Run("New-AuditAlertRule -Name nightly-cron -Query \"event.kind == 'system' && event.system_kind == 'cron'\" -EvaluationWindow 01:00:00 -Occurrences 1 -Severity Info -Region nl-ams -DryRun -Disabled").ThrowOnError();
        Assert.False((await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "nl-ams")).GetAsync()).Rules[0].Enabled);

        var enabled = ps.Run("Enable-AuditAlert -Name nightly-cron, HttpForbiddenErrorRateHigh -Region nl-ams -PassThru").ThrowOnError();
        Assert.Contains("nightly-cron", enabled.Property("Name"));
        var configuration = await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "nl-ams")).GetAsync();
        Assert.True(configuration.Rules[0].Enabled);
        Assert.Equal([AlertName.HttpForbiddenErrorRateHigh], configuration.Active);

        var unknown = ps.Run("Disable-AuditAlert -Name no-such-rule -Region nl-ams");
        Assert.Contains("nightly-cron", Assert.Single(unknown.Errors).Exception.Message, StringComparison.Ordinal);

        ps.Run("Set-AuditAlertRule -Name nightly-cron -NewName cron-watch -Region nl-ams").ThrowOnError();
        Assert.Equal(["cron-watch"], ps.Run("Get-AuditAlertRule -Region nl-ams").ThrowOnError().Property("Name"));
        Assert.Equal(["cron-watch"], ps.Run("Get-AuditAlertRule -Name cron*").ThrowOnError().Property("Name"));
        ps.Run("Remove-AuditAlertRule -Name cron-watch -Region nl-ams -WhatIf").ThrowOnError();
        Assert.Single(ps.Run("Get-AuditAlertRule").ThrowOnError().Output);
        ps.Run("Remove-AuditAlertRule -Name cron-watch -Region nl-ams -Force").ThrowOnError();
        Assert.Empty(ps.Run("Get-AuditAlertRule").ThrowOnError().Output);
    }
}
