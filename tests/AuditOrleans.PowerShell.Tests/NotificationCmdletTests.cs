using System.Management.Automation;
using Xunit;

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
}
