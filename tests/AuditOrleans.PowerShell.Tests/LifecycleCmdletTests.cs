using System.Management.Automation;
using Xunit;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>Silences and the taking and closing of firings from the module (docs/alerts.md, Silences and Acknowledgement).</summary>
[Collection(PowerShellCollection.Name)]
public sealed class LifecycleCmdletTests(PowerShellClusterFixture fixture)
{
    /// <summary>The id of the fixture's Owner key, which the sessions present.</summary>
    private const string OwnerKeyId = "0f1e2d3c4b5a6978";

    [Fact]
    public void ASilenceFromTheModuleHoldsItsAlertsIsListedAndEndsVisibly()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        ps.Run("Add-AuditNotificationContact -Email soc@example.com; Enable-AuditAlert -Name ApiKeyCreated, ApiKeyDeleted -Region fr-par").ThrowOnError();

        Assert.Empty(ps.Run("New-AuditAlertSilence -Name ApiKeyC* -Duration 02:00:00 -Reason 'rotation' -WhatIf").ThrowOnError().Output);
        var created = Assert.Single(ps.Run("New-AuditAlertSilence -Name ApiKeyC* -Region fr-par-1 -Duration 02:00:00 -Reason 'Key rotation CHG-1234'").ThrowOnError().Output);
        Assert.Equal(["ApiKeyCreated", "ApiKeyCreationUnauthorized"], (string[])created.Properties["Name"].Value);
        Assert.Equal(("fr-par", "Active", OwnerKeyId), (created.Properties["Region"].Value, created.Properties["State"].Value.ToString(), created.Properties["CreatedBy"].Value));
        var id = (string)created.Properties["Id"].Value;
        Assert.Equal(fixture.Clock.GetUtcNow() + TimeSpan.FromHours(2), created.Properties["End"].Value);

        ps.Run("""
            Send-AuditEvent -ProductName iam -MethodName CreateAPIKey -StatusCode 200 -Locality fr-par -PrincipalId rotation-bot -RecordedAt $at
            Send-AuditEvent -ProductName iam -MethodName DeleteAPIKey -StatusCode 200 -Locality fr-par -PrincipalId rotation-bot -RecordedAt $at
            """, ("at", fixture.Clock.GetUtcNow().UtcDateTime)).ThrowOnError();
        var held = Assert.Single(ps.Run("Get-AuditAlertHistory -SilenceId $id", ("id", id.ToUpperInvariant())).ThrowOnError().Output);
        Assert.Equal(("ApiKeyCreated", "Silenced", "Silenced", id), (held.Properties["Name"].Value, held.Properties["Status"].Value.ToString(), held.Properties["DeliveryStatus"].Value, held.Properties["SilenceId"].Value));
        var other = Assert.Single(ps.Run("Get-AuditAlertHistory -Name ApiKeyDeleted").ThrowOnError().Output);
        Assert.Equal("Open", other.Properties["Status"].Value.ToString());

        var listed = Assert.Single(ps.Run("Get-AuditAlertSilence").ThrowOnError().Output);
        Assert.Equal(1, listed.Properties["HeldFirings"].Value);

        // -WhatIf changes nothing; the pipeline ends it with the key and the comment; a second stop only warns.
        ps.Run("Get-AuditAlertSilence | Stop-AuditAlertSilence -WhatIf").ThrowOnError();
        Assert.Equal("Active", ps.Run("Get-AuditAlertSilence").ThrowOnError().Output[0].Properties["State"].Value.ToString());
        var ended = Assert.Single(ps.Run("Get-AuditAlertSilence | Stop-AuditAlertSilence -Comment 'done early' -PassThru").ThrowOnError().Output);
        Assert.Equal(("Ended", OwnerKeyId, "done early"), (ended.Properties["State"].Value.ToString(), ended.Properties["EndedBy"].Value, ended.Properties["EndComment"].Value));
        var again = ps.Run("Stop-AuditAlertSilence -Id $id", ("id", id)).ThrowOnError();
        Assert.Contains("already ended", Assert.Single(again.Warnings));

        var missing = Assert.Single(ps.Run("Stop-AuditAlertSilence -Id 0123456789abcdef0123456789abcdef").Errors);
        Assert.StartsWith("SilenceNotFound,", missing.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, missing.CategoryInfo.Category);
        var unknown = Assert.Single(ps.Run("New-AuditAlertSilence -Name ApiKeyMade -Duration 01:00:00 -Reason r").Errors);
        Assert.Contains(AlertCatalog.ValidNames, unknown.Exception.Message);
        var noEnd = Assert.Single(ps.Run("New-AuditAlertSilence -Name ApiKeyCreated -Duration ([timespan]::FromHours(-1)) -Reason r").Errors);
        Assert.Contains("must be positive", noEnd.Exception.Message);
    }

    [Fact]
    public void ASilenceNamedByRuleHoldsOnlyThatRule()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        ps.Run("""
            Add-AuditNotificationContact -Email soc@example.com
            New-AuditAlertRule -Name key-creates -Region fr-par -Query "event.method_name == 'CreateAPIKey'" -EvaluationWindow 00:05:00 -Occurrences 1 -Severity Critical
            New-AuditAlertRule -Name key-deletes -Region fr-par -Query "event.method_name == 'DeleteAPIKey'" -EvaluationWindow 00:05:00 -Occurrences 1 -Severity Critical
            """).ThrowOnError();

        var created = Assert.Single(ps.Run("New-AuditAlertSilence -Name key-creates -Region fr-par -Duration 01:00:00 -Reason 'rotation'").ThrowOnError().Output);
        Assert.Equal(["key-creates"], (string[])created.Properties["Name"].Value);
        Assert.Equal(["key-creates"], (string[])created.Properties["Rules"].Value);
        var id = (string)created.Properties["Id"].Value;

        ps.Run("""
            Send-AuditEvent -ProductName iam -MethodName CreateAPIKey -StatusCode 200 -Locality fr-par -PrincipalId rotation-bot -RecordedAt $at
            Send-AuditEvent -ProductName iam -MethodName DeleteAPIKey -StatusCode 200 -Locality fr-par -PrincipalId rotation-bot -RecordedAt $at
            """, ("at", fixture.Clock.GetUtcNow().UtcDateTime)).ThrowOnError();
        var held = Assert.Single(ps.Run("Get-AuditAlertHistory -SilenceId $id", ("id", id)).ThrowOnError().Output);
        Assert.Equal(("key-creates", "Silenced"), (held.Properties["Name"].Value, held.Properties["Status"].Value.ToString()));
        var other = Assert.Single(ps.Run("Get-AuditAlertHistory -Name key-deletes | Where-Object Kind -eq 'Firing'").ThrowOnError().Output);
        Assert.Equal(("Open", null), (other.Properties["Status"].Value.ToString(), other.Properties["SilenceId"].Value));
        Assert.Equal(["key-creates"], (string[])Assert.Single(ps.Run("Get-AuditAlertSilence").ThrowOnError().Output).Properties["Rules"].Value);

        var typo = Assert.Single(ps.Run("New-AuditAlertSilence -Name key-create -Duration 01:00:00 -Reason r").Errors);
        Assert.Contains("neither an alert nor a custom rule", typo.Exception.Message);
    }

    [Fact]
    public void AWeeklyWindowIsCreatedInItsTimeZoneAndShownAsASchedule()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);

        var weekly = Assert.Single(ps.Run(
            "New-AuditAlertSilence -Name ApiKey* -DaysOfWeek Saturday, Sunday -At 02:30 -Duration 04:00:00 -TimeZone Europe/Paris -Reason 'Weekend maintenance'").ThrowOnError().Output);
        Assert.Equal("Sat,Sun 02:30 for 4h (Europe/Paris)", weekly.Properties["Schedule"].Value);
        Assert.Equal([DayOfWeek.Saturday, DayOfWeek.Sunday], (DayOfWeek[])weekly.Properties["DaysOfWeek"].Value);
        Assert.Null(weekly.Properties["End"].Value);
        Assert.Contains(weekly.Properties["State"].Value.ToString(), new[] { "Active", "Waiting" });
        Assert.NotNull(weekly.Properties["NextChangeAt"].Value);

        var refused = Assert.Single(ps.Run("New-AuditAlertSilence -Name ApiKeyCreated -DaysOfWeek Monday -At 02:00 -Duration 01:00:00 -TimeZone Mars/Olympus -Reason r").Errors);
        Assert.Contains("IANA id such as Europe/Paris", refused.Exception.Message);
    }

    [Fact]
    public void AFiringIsTakenAndClosedWithCommentsFromTheHistoryPipeline()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        ps.Run("Add-AuditNotificationContact -Email soc@example.com; Enable-AuditAlert -Name ApiKeyDeleted -Region fr-par").ThrowOnError();
        ps.Run("Send-AuditEvent -ProductName iam -MethodName DeleteAPIKey -StatusCode 200 -Locality fr-par -PrincipalId admin-1 -RecordedAt $at",
            ("at", fixture.Clock.GetUtcNow().UtcDateTime)).ThrowOnError();

        Assert.Empty(ps.Run("Get-AuditAlertHistory | Confirm-AuditAlertFiring -Comment 'mine' -WhatIf -PassThru").ThrowOnError().Output);
        var taken = Assert.Single(ps.Run("Get-AuditAlertHistory | Confirm-AuditAlertFiring -Comment 'Looking into it' -PassThru").ThrowOnError().Output);
        Assert.Equal(("Taken", OwnerKeyId, "Looking into it"), (taken.Properties["Status"].Value.ToString(), taken.Properties["TakenBy"].Value, taken.Properties["TakeComment"].Value));
        Assert.Equal(fixture.Clock.GetUtcNow(), taken.Properties["TakenAt"].Value);

        fixture.Clock.Advance(TimeSpan.FromMinutes(3));
        ps.Run("Get-AuditAlertHistory | Close-AuditAlertFiring -Comment 'Planned: old CI key removed'").ThrowOnError();
        var closed = Assert.Single(ps.Run("Get-AuditAlertHistory").ThrowOnError().Output);
        Assert.Equal(("Closed", OwnerKeyId, "Planned: old CI key removed"), (closed.Properties["Status"].Value.ToString(), closed.Properties["ClosedBy"].Value, closed.Properties["CloseComment"].Value));
        Assert.Equal(fixture.Clock.GetUtcNow(), closed.Properties["ClosedAt"].Value);
        Assert.Equal("Looking into it", closed.Properties["TakeComment"].Value);
        Assert.Equal(2, ((System.Collections.ICollection)closed.Properties["Acknowledgements"].Value).Count);

        var again = Assert.Single(ps.Run("Get-AuditAlertHistory | Confirm-AuditAlertFiring").Errors);
        Assert.Contains("was closed by key " + OwnerKeyId, again.Exception.Message);
        var noComment = Assert.Single(ps.Run("Close-AuditAlertFiring -Id $id -Comment ' '", ("id", closed.Properties["Id"].Value)).Errors);
        Assert.Equal(ErrorCategory.InvalidArgument, noComment.CategoryInfo.Category);
        var missing = Assert.Single(ps.Run("Confirm-AuditAlertFiring -Id 0123456789abcdef0123456789abcdef").Errors);
        Assert.StartsWith("FiringNotFound,", missing.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task AReadOnlyKeyListsSilencesButCannotCreateOrTakeAnything()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        var readOnly = await fixture.CreateApiKeyAsync(ApiKeyRole.ReadOnly, project);
        using var ps = fixture.Connect(project, readOnly);

        ps.Run("Get-AuditAlertSilence").ThrowOnError();
        var refused = Assert.Single(ps.Run("New-AuditAlertSilence -Name ApiKeyCreated -Duration 01:00:00 -Reason r").Errors);
        Assert.Equal(ErrorCategory.PermissionDenied, refused.CategoryInfo.Category);
        Assert.Contains("ManageAlerts", refused.Exception.Message);
        var take = Assert.Single(ps.Run("Confirm-AuditAlertFiring -Id 0123456789abcdef0123456789abcdef").Errors);
        Assert.Equal(ErrorCategory.PermissionDenied, take.CategoryInfo.Category);
    }
}
