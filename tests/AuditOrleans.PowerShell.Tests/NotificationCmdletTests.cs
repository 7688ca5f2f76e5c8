using System.Management.Automation;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using AuditOrleans.Grains.AuditLog;

namespace AuditOrleans.PowerShell.Tests;

[Collection(PowerShellCollection.Name)]
public sealed class NotificationCmdletTests(PowerShellClusterFixture fixture)
{
    [Fact]
    public void ContactsAddGetRemoveWithWhatIfAndForce()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);

        var added = ps.Run("Add-AuditNotificationContact -Email Sec@Example.com, ops@example.com -PassThru").ThrowOnError();
        Assert.Equal(["sec@example.com", "ops@example.com"], added.Property("Email"));
        ps.Run("Add-AuditNotificationContact -Email billing@example.com -Type Billing, Incident").ThrowOnError();
        ps.Run("Add-AuditNotificationContact -Email nobody@example.com -WhatIf").ThrowOnError();

        var all = ps.Run("Get-AuditNotificationContact").ThrowOnError();
        Assert.Equal(["billing@example.com", "ops@example.com", "sec@example.com"], all.Property("Email"));
        var security = ps.Run("Get-AuditNotificationContact -Type Security").ThrowOnError();
        Assert.Equal(["ops@example.com", "sec@example.com"], security.Property("Email"));
        Assert.Equal("Incident, Billing", string.Join(", ", ((System.Collections.IEnumerable)ps.Run("Get-AuditNotificationContact -Email bill*").ThrowOnError().Output[0].Properties["Type"].Value).Cast<object>()));

        ps.Run("Remove-AuditNotificationContact -Email ops@example.com -Force -WhatIf").ThrowOnError();
        Assert.Equal(3, ps.Run("Get-AuditNotificationContact").ThrowOnError().Output.Count);
        ps.Run("Get-AuditNotificationContact -Email ops@* | Remove-AuditNotificationContact -Force").ThrowOnError();
        Assert.Equal(["billing@example.com", "sec@example.com"], ps.Run("Get-AuditNotificationContact").ThrowOnError().Property("Email"));

        var missing = Assert.Single(ps.Run("Remove-AuditNotificationContact -Email ops@example.com -Force").Errors);
        Assert.StartsWith("NotificationContactNotFound,", missing.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, missing.CategoryInfo.Category);

        var invalid = Assert.Single(ps.Run("Add-AuditNotificationContact -Email 'not an address'").Errors);
        Assert.Equal(ErrorCategory.InvalidArgument, invalid.CategoryInfo.Category);
        Assert.Contains("security@example.com", invalid.Exception.Message);
    }

    [Fact]
    public void TestAlertDeliversThroughTheOutboxAndReportsIt()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);

        var refused = Assert.Single(ps.Run("Test-AuditAlert -Name ApiKeyDeleted -Region fr-par").Errors);
        Assert.Equal(ErrorCategory.InvalidOperation, refused.CategoryInfo.Category);
        Assert.Contains("Add-AuditNotificationContact", refused.Exception.Message);

        ps.Run("Add-AuditNotificationContact -Email soc@example.com").ThrowOnError();
        var result = Assert.Single(ps.Run("Test-AuditAlert -Name ApiKeyDeleted -Region fr-par-1").ThrowOnError().Output);

        Assert.Equal("ApiKeyDeleted", result.Properties["Name"].Value);
        Assert.Equal(true, result.Properties["IsTest"].Value);
        Assert.Equal("fr-par", result.Properties["Region"].Value);
        Assert.Equal(["soc@example.com"], (string[])result.Properties["Recipients"].Value);
        Assert.Equal("Delivered", result.Properties["DeliveryStatus"].Value);
        var outbox = fixture.Directory.Combine("outbox");
        Assert.Contains(Directory.GetFiles(outbox, "*.eml", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains(project, StringComparison.Ordinal));

        var history = Assert.Single(ps.Run("Get-AuditAlertHistory").ThrowOnError().Output);
        Assert.Equal(result.Properties["Id"].Value, history.Properties["Id"].Value);
    }

    [Fact]
    public void HistoryShowsAFiringWithItsBehaviourRecipientsAndLink()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        ps.Run("Add-AuditNotificationContact -Email soc@example.com; Enable-AuditAlert -Name ApiKeyCreated -Region fr-par").ThrowOnError();

        ps.Run("""
            Send-AuditEvent -Id created-1 -ProductName iam -MethodName CreateAPIKey -StatusCode 200 -Locality global -PrincipalId admin-1 -SourceIp 203.0.113.7 -RecordedAt $at -Resources '[{"id":"SCWKEY0000000000000A","type":"iam_api_key"}]'
            """, ("at", fixture.Clock.GetUtcNow().AddMinutes(-2).UtcDateTime)).ThrowOnError();

        var fired = Assert.Single(ps.Run("Get-AuditAlertHistory -Name ApiKeyCreated -Region fr-par").ThrowOnError().Output);
        Assert.Equal("ApiKeyCreated", fired.Properties["Name"].Value);
        Assert.Equal("Medium", fired.Properties["Severity"].Value.ToString());
        Assert.Equal(false, fired.Properties["IsTest"].Value);
        Assert.Equal("SCWKEY0000000000000A", fired.Properties["ApiKeyId"].Value);
        Assert.Contains("SCWKEY0000000000000A", (string)fired.Properties["Behaviour"].Value);
        Assert.Equal(["soc@example.com"], (string[])fired.Properties["Recipients"].Value);
        var link = (string)fired.Properties["Link"].Value;
        Assert.StartsWith($"http://localhost:8080/audit-trail?project_id={project}&region=fr-par&recorded_after=", link);
        Assert.EndsWith("&method_name=CreateAPIKey", link);

        Assert.Empty(ps.Run("Get-AuditAlertHistory -Name HttpForbiddenErrorRateHigh").ThrowOnError().Output);
        var unknown = Assert.Single(ps.Run("Get-AuditAlertHistory -Name Nope").Errors);
        Assert.StartsWith("UnknownAlertName,", unknown.FullyQualifiedErrorId);
    }

    [Fact]
    public void HistoricalSendsAreBackfillAndLateEventsSayWhenTheyHappened()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        ps.Run("Add-AuditNotificationContact -Email soc@example.com; Enable-AuditAlert -Name ApiKeyCreated, ApiKeyDeleted -Region fr-par").ThrowOnError();
        var lastYear = fixture.Clock.GetUtcNow().AddDays(-365).UtcDateTime;
        var anHourAgo = fixture.Clock.GetUtcNow().AddHours(-1).UtcDateTime;

        ps.Run("""
            Send-AuditEvent -Historical -Id old-1 -ProductName iam -MethodName CreateAPIKey -StatusCode 200 -Locality global -RecordedAt $old
            Send-AuditEvent -Id late-1 -ProductName iam -MethodName DeleteAPIKey -StatusCode 200 -Locality global -RecordedAt $late
            """, ("old", lastYear), ("late", anHourAgo)).ThrowOnError();

        var backfill = Assert.Single(ps.Run("Get-AuditAlertHistory -Name ApiKeyCreated").ThrowOnError().Output);
        Assert.Equal(true, backfill.Properties["IsBackfill"].Value);
        Assert.Equal("Backfill", backfill.Properties["DeliveryStatus"].Value);
        Assert.Empty((string[])backfill.Properties["Recipients"].Value);
        Assert.Equal("Firing", backfill.Properties["Kind"].Value.ToString());

        var late = Assert.Single(ps.Run("Get-AuditAlertHistory -Name ApiKeyDeleted").ThrowOnError().Output);
        Assert.Equal(true, late.Properties["IsLate"].Value);
        Assert.Equal(false, late.Properties["IsBackfill"].Value);
        Assert.Equal(["soc@example.com"], (string[])late.Properties["Recipients"].Value);
        Assert.Contains($"Late: the event happened at {anHourAgo:yyyy-MM-dd HH:mm:ss} UTC", (string)late.Properties["Behaviour"].Value, StringComparison.Ordinal);
    }

    [Fact]
    public void IntegrityOfTheStoredChainIsReportedPerRegion()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        ps.Run("1..3 | ForEach-Object { Send-AuditEvent -Id \"i-$_\" -MethodName GetServer -StatusCode 200 -Locality nl-ams -RecordedAt '2025-11-20T10:00:00Z' }").ThrowOnError();

        var reports = ps.Run("Test-AuditTrailIntegrity").ThrowOnError();

        Assert.Equal(["fr-par", "nl-ams", "pl-waw"], reports.Property("Region"));
        Assert.All(reports.Property("IsValid"), v => Assert.Equal(true, v));
        Assert.Equal([0L, 3L, 0L], reports.Property("EventsChecked"));
    }

    [Fact]
    public async Task CheckpointsKeptOutsideTheDatabaseRevealACutLog()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        ps.Run("1..5 | ForEach-Object { Send-AuditEvent -Id \"c-$_\" -MethodName GetServer -StatusCode 200 -Locality nl-ams -RecordedAt '2025-11-20T10:00:00Z' }").ThrowOnError();
        await SiloServices.GetRequiredService<Grains.AuditLog.LogMaintenanceService>().RunOnceAsync();

        var checkpoint = Assert.Single(ps.Run("$kept = Get-AuditTrailCheckpoint -Region nl-ams; $kept").ThrowOnError().Output);
        Assert.Equal(5L, checkpoint.Properties["Sequence"].Value);
        Assert.Empty(ps.Run("Get-AuditTrailCheckpoint -Region fr-par").ThrowOnError().Output);

        // What Import-Csv gives back: every property as text.
        const string asCsvRows = "$rows = $kept | ForEach-Object { [pscustomobject]@{ ProjectId = $_.ProjectId; Region = $_.Region; Sequence = [string]$_.Sequence; Hash = $_.Hash; CreatedAt = $_.CreatedAt.ToString('o'); Signature = $_.Signature } }";
        ps.Run(asCsvRows).ThrowOnError();
        var intact = Assert.Single(ps.Run("$rows | Test-AuditTrailIntegrity").ThrowOnError().Output);
        Assert.Equal(("nl-ams", true, 5L), ((string)intact.Properties["Region"].Value, (bool)intact.Properties["IsValid"].Value, (long)intact.Properties["EventsChecked"].Value));

        // Someone cuts the newest events and the silo's own checkpoints: the plain walk cannot tell, the kept checkpoint can.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection(fixture.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM audit_checkpoints WHERE project_id = $p; DELETE FROM audit_events WHERE project_id = $p AND seq > 3";
            command.Parameters.AddWithValue("$p", project);
            await command.ExecuteNonQueryAsync();
        }

        Assert.Equal(true, Assert.Single(ps.Run("Test-AuditTrailIntegrity -Region nl-ams").ThrowOnError().Output).Properties["IsValid"].Value);
        var cut = ps.Run("Test-AuditTrailIntegrity -Checkpoint $rows").ThrowOnError();
        Assert.Equal(false, Assert.Single(cut.Output).Properties["IsValid"].Value);
        Assert.Contains(cut.Warnings, w => w.Contains("nl-ams", StringComparison.Ordinal));

        // Unusable checkpoints are refused before anything is verified.
        var missing = Assert.Single(ps.Run("[pscustomobject]@{ ProjectId = $p; Region = 'nl-ams'; Sequence = '5' } | Test-AuditTrailIntegrity", ("p", project)).Errors);
        Assert.Equal((ErrorCategory.InvalidData, "InvalidCheckpoint"), (missing.CategoryInfo.Category, missing.FullyQualifiedErrorId.Split(',')[0]));
        Assert.Contains("Hash", missing.Exception.Message, StringComparison.Ordinal);
        var foreign = Assert.Single(ps.Run("$rows | Test-AuditTrailIntegrity -ProjectId $other", ("other", PowerShellClusterFixture.NewProjectId())).Errors);
        Assert.Equal("CheckpointOfAnotherProject", foreign.FullyQualifiedErrorId.Split(',')[0]);
    }

    [Fact]
    public async Task DeletingTheOldestEventsBehindAForgedRetentionAnchorIsReported()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        ps.Run("1..4 | ForEach-Object { Send-AuditEvent -Id \"f-$_\" -MethodName GetServer -StatusCode 200 -Locality nl-ams -RecordedAt '2025-11-20T10:00:00Z' }").ThrowOnError();
        await SiloServices.GetRequiredService<Grains.AuditLog.LogMaintenanceService>().RunOnceAsync();
        ps.Run("$kept = @(Get-AuditTrailCheckpoint -Region nl-ams)").ThrowOnError();
        ps.Run("5..9 | ForEach-Object { Send-AuditEvent -Id \"f-$_\" -MethodName GetServer -StatusCode 200 -Locality nl-ams -RecordedAt '2025-11-20T10:00:00Z' }").ThrowOnError();
        await SiloServices.GetRequiredService<Grains.AuditLog.LogMaintenanceService>().RunOnceAsync();
        ps.Run("$kept += Get-AuditTrailCheckpoint -Region nl-ams -First 1").ThrowOnError();
        Assert.Equal([4L, 9L], ps.Run("$kept").ThrowOnError().Property("Sequence"));

        // With write access to the SQLite file and no checkpoint key: events 1..6 go, an anchor claims they were purged.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection(fixture.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText =
                "INSERT INTO audit_chain_anchors (project_id, region, seq, hash, purged_at) " +
                "SELECT project_id, region, seq, hash, ingested_at FROM audit_events WHERE project_id = $p AND region = 'nl-ams' AND seq = 6; " +
                "DELETE FROM audit_event_resources WHERE project_id = $p AND seq <= 6; " +
                "DELETE FROM audit_events WHERE project_id = $p AND seq <= 6; " +
                "DELETE FROM audit_checkpoints WHERE project_id = $p AND seq <= 6;";
            command.Parameters.AddWithValue("$p", project);
            await command.ExecuteNonQueryAsync();
        }

        foreach (var script in new[] { "Test-AuditTrailIntegrity -Region nl-ams", "$kept | Test-AuditTrailIntegrity" })
        {
            var run = ps.Run(script).ThrowOnError();
            var result = Assert.Single(run.Output);
            Assert.Equal((false, 6L, 6L), ((bool)result.Properties["IsValid"].Value, (long?)result.Properties["FirstBrokenSequence"].Value, (long)result.Properties["PurgedThroughSequence"].Value));
            Assert.Contains("retention anchor at position 6", (string)result.Properties["Reason"].Value);
            var warning = Assert.Single(run.Warnings);
            Assert.Contains("broken at position 6: The retention anchor", warning, StringComparison.Ordinal);
            Assert.Contains("not signed", warning, StringComparison.Ordinal);
        }
    }

    private IServiceProvider SiloServices => ((Orleans.TestingHost.InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;
}
