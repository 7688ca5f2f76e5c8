using System.Management.Automation;
using System.Text.RegularExpressions;
using Xunit;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>
/// Access control as a PowerShell user meets it: every cmdlet that needs a permission turns the
/// silo's refusal into a PermissionDenied error naming the permission, for an anonymous session,
/// the wrong role, a revoked key and another project's key; Owner keys manage keys with
/// New-/Get-/Remove-AuditApiKey.
/// </summary>
[Collection(PowerShellCollection.Name)]
public sealed partial class AccessControlCmdletTests(PowerShellClusterFixture fixture)
{
    /// <summary>A cmdlet line on project <c>$p</c>, the permission it needs, a role that has it and one that has not.</summary>
    public sealed record CmdletCase(string Script, Permission Permission, ApiKeyRole AllowedRole, ApiKeyRole WrongRole, string? ValidKeyError = null);

    private const string AnEvent =
        "Send-AuditEvent -ProjectId $p -Locality fr-par -ProductName secret-manager -MethodName CreateSecret -StatusCode 200 -PrincipalId user-1 -SourceIp 192.0.2.7";

    private static readonly CmdletCase[] Cases =
    [
        new("Get-AuditAlert -Region fr-par -ProjectId $p", Permission.ViewAlerts, ApiKeyRole.ReadOnly, ApiKeyRole.EventWriter),
        new("Enable-AuditAlert -Name ApiKeyCreated -Region fr-par -ProjectId $p", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly),
        new("Disable-AuditAlert -Name ApiKeyCreated -Region fr-par -ProjectId $p", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.EventWriter),
        new(AnEvent, Permission.WriteEvents, ApiKeyRole.EventWriter, ApiKeyRole.ReadOnly),
        new("Get-AuditEvent -Region fr-par -ProjectId $p", Permission.ViewEvents, ApiKeyRole.ReadOnly, ApiKeyRole.AlertsManager),
        new("Export-AuditEvent -Path ([System.IO.Path]::Combine($dir, [guid]::NewGuid().ToString() + '.jsonl')) -Region fr-par -ProjectId $p", Permission.ViewEvents, ApiKeyRole.ReadOnly, ApiKeyRole.EventWriter),
        new("Get-AuditAlertHistory -ProjectId $p", Permission.ViewAlertHistory, ApiKeyRole.AlertsManager, ApiKeyRole.EventWriter),
        new("Add-AuditNotificationContact -Email soc@example.com -ProjectId $p", Permission.ManageContacts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly),
        new("Get-AuditNotificationContact -ProjectId $p", Permission.ViewContacts, ApiKeyRole.ReadOnly, ApiKeyRole.EventWriter),
        new("Add-AuditNotificationContact -WebhookUrl http://127.0.0.1:9/access-test -Format Slack -ProjectId $p", Permission.ManageContacts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly),
        new("Get-AuditNotificationContact -Kind Webhook -ProjectId $p", Permission.ViewContacts, ApiKeyRole.ReadOnly, ApiKeyRole.EventWriter),
        new("Remove-AuditNotificationContact -WebhookId wh_000000000000000000000000 -ProjectId $p -Force", Permission.ManageContacts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly, "NotificationContactNotFound"),
        new("Test-AuditAlert -Name ApiKeyDeleted -Region fr-par -ProjectId $p", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly),
        new("Remove-AuditNotificationContact -Email soc@example.com -ProjectId $p -Force", Permission.ManageContacts, ApiKeyRole.AlertsManager, ApiKeyRole.EventWriter),
        new("Reset-AuditNotificationContactSecret -WebhookId wh_000000000000000000000000 -ProjectId $p -Force", Permission.ManageContacts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly, "NotificationContactNotFound"),
        new("Test-AuditTrailIntegrity -Region fr-par -ProjectId $p", Permission.VerifyIntegrity, ApiKeyRole.ReadOnly, ApiKeyRole.AlertsManager),
        new("Get-AuditTrailCheckpoint -Region fr-par -ProjectId $p", Permission.VerifyIntegrity, ApiKeyRole.ReadOnly, ApiKeyRole.EventWriter),
        new("New-AuditApiKey -Role ReadOnly -ProjectId $p -Description 'made by a test'", Permission.ManageApiKeys, ApiKeyRole.Owner, ApiKeyRole.AlertsManager),
        new("Get-AuditApiKey", Permission.ManageApiKeys, ApiKeyRole.Owner, ApiKeyRole.ReadOnly),
        new("Remove-AuditApiKey -Id 00000000000000fe -Force", Permission.ManageApiKeys, ApiKeyRole.Owner, ApiKeyRole.EventWriter, "ApiKeyNotFound"),
        new("New-AuditAlertSilence -Name ApiKeyCreated -Duration 01:00:00 -Reason 'access test' -ProjectId $p", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly),
        new("Get-AuditAlertSilence -ProjectId $p", Permission.ViewAlerts, ApiKeyRole.ReadOnly, ApiKeyRole.EventWriter),
        new("Stop-AuditAlertSilence -Id 0123456789abcdef0123456789abcdef -ProjectId $p", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly, "SilenceNotFound"),
        new("Confirm-AuditAlertFiring -Id 0123456789abcdef0123456789abcdef -ProjectId $p", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly, "FiringNotFound"),
        new("Close-AuditAlertFiring -Id 0123456789abcdef0123456789abcdef -Comment done -ProjectId $p", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.EventWriter, "FiringNotFound"),
        new("New-AuditAlertRule -Name access-rule -Query \"event.kind == 'authentication'\" -EvaluationWindow 00:05:00 -Occurrences 3 -Severity Info -ProjectId $p", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly),
        new("Get-AuditAlertRule -Region fr-par -ProjectId $p", Permission.ViewAlerts, ApiKeyRole.ReadOnly, ApiKeyRole.EventWriter),
        new("Set-AuditAlertRule -Name access-rule -Description 'changed by the access test' -ProjectId $p", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly),
        new("Test-AuditAlertRule -Query 'event.status_code == 403' -EvaluationWindow 00:05:00 -Occurrences 3 -ProjectId $p", Permission.ViewEvents, ApiKeyRole.ReadOnly, ApiKeyRole.AlertsManager),
        new("Remove-AuditAlertRule -Name access-rule -Force -ProjectId $p", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.EventWriter),
    ];

    public static TheoryData<string> Callers => ["anonymous", "wrong role", "revoked key", "another project's key"];

    [Fact]
    public void EveryCmdletOfTheContractThatCallsTheClusterIsCovered()
    {
        var covered = Cases.Select(static c => c.Script.Split(' ')[0]).ToHashSet();
        var withoutPermission = new[] { "Connect-AuditCluster", "Disconnect-AuditCluster" };
        Assert.Equal(ModuleTests.Contract.Keys.Except(withoutPermission).Order(), covered.Order());
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public async Task EveryCmdletRefusesTheCallerWithPermissionDenied(string caller)
    {
        var project = PowerShellClusterFixture.NewProjectId("psac");
        var other = PowerShellClusterFixture.NewProjectId("psac");
        using var dir = new AuditOrleans.Testing.TempDirectory();
        var sessions = new Dictionary<(string, ApiKeyRole, string?), (PowerShellSession Session, string? Key)>();

        async Task<(PowerShellSession Session, string? Key)> SessionAsync(string kind, ApiKeyRole role, string? projectId)
        {
            projectId = role == ApiKeyRole.Owner ? null : projectId;
            if (!sessions.TryGetValue((kind, role, projectId), out var entry))
            {
                var key = kind == "anonymous" ? null : await fixture.CreateApiKeyAsync(role, projectId);
                PowerShellSession session;
                if (key is null)
                {
                    session = new PowerShellSession();
                    session.Run(
                        "Connect-AuditCluster -Gateway $gateway -ClusterId $clusterId -ServiceId $serviceId -ProjectId $p -ErrorAction Stop",
                        ("gateway", fixture.Gateway), ("clusterId", fixture.Cluster.Options.ClusterId), ("serviceId", fixture.Cluster.Options.ServiceId), ("p", project)).ThrowOnError();
                }
                else
                {
                    session = fixture.Connect(project, key);
                }

                if (kind == "revoked key")
                {
                    using var owner = fixture.Connect(project);
                    owner.Run("Remove-AuditApiKey -Id $id -Force", ("id", KeyId(key!))).ThrowOnError();
                }

                entry = (session, key);
                sessions[(kind, role, projectId)] = entry;
            }

            return entry;
        }

        try
        {
            foreach (var c in Cases)
            {
                // The right key gets through.
                var (valid, _) = await SessionAsync("valid", c.AllowedRole, project);
                var allowed = valid.Run(c.Script, ("p", project), ("dir", dir.Path));
                if (c.ValidKeyError is null)
                {
                    allowed.ThrowOnError();
                }
                else
                {
                    Assert.StartsWith(c.ValidKeyError + ",", Assert.Single(allowed.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
                }

                var (session, key) = caller switch
                {
                    "anonymous" => await SessionAsync("anonymous", ApiKeyRole.Owner, null),
                    "wrong role" => await SessionAsync("valid", c.WrongRole, project),
                    "revoked key" => await SessionAsync("revoked key", c.AllowedRole, project),
                    _ => await SessionAsync("valid", c.AllowedRole == ApiKeyRole.Owner ? ApiKeyRole.AlertsManager : c.AllowedRole, other),
                };

                var filesBefore = Directory.GetFiles(dir.Path).Length;
                var refused = session.Run(c.Script, ("p", project), ("dir", dir.Path));
                Assert.Equal(filesBefore, Directory.GetFiles(dir.Path).Length);
                var error = Assert.Single(refused.Errors);
                var because = $"{c.Script} as {caller}: {error.FullyQualifiedErrorId} {error.CategoryInfo.Category} {error.Exception.Message}";
                Assert.True(error.CategoryInfo.Category == ErrorCategory.PermissionDenied, because);
                Assert.StartsWith("AccessDenied,", error.FullyQualifiedErrorId, StringComparison.Ordinal);
                var expected = caller switch
                {
                    "anonymous" => "no API key was presented",
                    "another project's key" when c.Permission == Permission.WriteEvents => "may write events of its own project only",
                    _ => $"needs the {c.Permission} permission",
                };
                Assert.True(error.Exception.Message.Contains(expected, StringComparison.Ordinal), because);
                Assert.DoesNotContain(PowerShellClusterFixture.OwnerApiKey, error.ToString(), StringComparison.Ordinal);
                if (key is not null)
                {
                    Assert.DoesNotContain(key, error.ToString(), StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            foreach (var (session, _) in sessions.Values)
            {
                session.Dispose();
            }
        }
    }

    [Fact]
    public void OwnerCreatesListsAndRevokesKeysAndTheSecretIsShownOnce()
    {
        var project = PowerShellClusterFixture.NewProjectId("pskey");
        using var owner = fixture.Connect(project);

        var created = owner.Run("New-AuditApiKey -Role AlertsManager -ProjectId $p -Description 'SOC automation' -Verbose", ("p", project)).ThrowOnError();
        var key = Assert.Single(created.Output);
        var id = (string)key.Properties["Id"].Value;
        var secret = (string)key.Properties["Secret"].Value;
        Assert.Matches(SecretPattern(), secret);
        Assert.Equal(id, KeyId(secret));
        Assert.Equal("AlertsManager", key.Properties["Role"].Value.ToString());
        Assert.Equal(project, key.Properties["ProjectId"].Value);
        Assert.Contains(created.Warnings, w => w.Contains(id, StringComparison.Ordinal) && w.Contains("shown only now", StringComparison.Ordinal));
        Assert.DoesNotContain(created.Verbose.Concat(created.Warnings).Concat(created.Debug), m => m.Contains(secret, StringComparison.Ordinal));

        // Listed without the secret.
        var listed = Assert.Single(owner.Run("Get-AuditApiKey -Id $id", ("id", id)).ThrowOnError().Output);
        Assert.Null(listed.Properties["Secret"]);
        Assert.DoesNotContain(listed.Properties, p => Equals(p.Value, secret));
        Assert.Equal("SOC automation", listed.Properties["Description"].Value);
        Assert.Equal(false, listed.Properties["Revoked"].Value);
        Assert.Contains(id, owner.Run("Get-AuditApiKey -Role AlertsManager -ProjectId $p | ForEach-Object Id", ("p", project)).ThrowOnError().Output.Select(static o => o.BaseObject));
        Assert.Empty(owner.Run("Get-AuditApiKey -Role EventWriter -ProjectId $p", ("p", project)).ThrowOnError().Output);

        // The new key works for its role and project.
        using (var manager = fixture.Connect(project, secret))
        {
            manager.Run("Enable-AuditAlert -Name ApiKeyDeleted -Region nl-ams").ThrowOnError();
        }

        // Revoked through the pipeline; the key is refused afterwards and listed only with -IncludeRevoked.
        var revoked = Assert.Single(owner.Run("Get-AuditApiKey -Id $id | Remove-AuditApiKey -Force -PassThru", ("id", id)).ThrowOnError().Output);
        Assert.Equal(true, revoked.Properties["Revoked"].Value);
        using (var manager = fixture.Connect(project, secret))
        {
            var refused = Assert.Single(manager.Run("Get-AuditAlert -Region nl-ams").Errors);
            Assert.Equal(ErrorCategory.PermissionDenied, refused.CategoryInfo.Category);
        }

        Assert.Empty(owner.Run("Get-AuditApiKey -Id $id", ("id", id)).ThrowOnError().Output);
        Assert.Equal(true, Assert.Single(owner.Run("Get-AuditApiKey -Id $id -IncludeRevoked", ("id", id)).ThrowOnError().Output).Properties["Revoked"].Value);

        // Revoking again says there is no such valid key.
        var again = Assert.Single(owner.Run("Remove-AuditApiKey -Id $id -Force", ("id", id)).Errors);
        Assert.Equal(ErrorCategory.ObjectNotFound, again.CategoryInfo.Category);
        Assert.StartsWith("ApiKeyNotFound,", again.FullyQualifiedErrorId, StringComparison.Ordinal);
    }

    [Fact]
    public void WhatIfCreatesAndRevokesNothing()
    {
        var project = PowerShellClusterFixture.NewProjectId("pskey");
        using var owner = fixture.Connect(project);

        var whatIf = owner.Run("New-AuditApiKey -Role ReadOnly -ProjectId $p -WhatIf", ("p", project)).ThrowOnError();
        Assert.Empty(whatIf.Output);
        Assert.Empty(owner.Run("Get-AuditApiKey -ProjectId $p -IncludeRevoked", ("p", project)).ThrowOnError().Output);

        var secret = (string)Assert.Single(owner.Run("New-AuditApiKey -Role EventWriter -ProjectId $p", ("p", project)).ThrowOnError().Output).Properties["Secret"].Value;
        owner.Run("Remove-AuditApiKey -Id $id -WhatIf; Remove-AuditApiKey -Id $id -Force -WhatIf", ("id", KeyId(secret))).ThrowOnError();
        Assert.Equal(false, Assert.Single(owner.Run("Get-AuditApiKey -ProjectId $p", ("p", project)).ThrowOnError().Output).Properties["Revoked"].Value);
    }

    [Fact]
    public void BadKeyRequestsAreInvalidArgumentErrorsThatSayWhatToDo()
    {
        var project = PowerShellClusterFixture.NewProjectId("pskey");
        using var owner = fixture.Connect(project);

        var badProject = Assert.Single(owner.Run("New-AuditApiKey -Role ReadOnly -ProjectId 'not a project!'").Errors);
        Assert.Equal(ErrorCategory.InvalidArgument, badProject.CategoryInfo.Category);
        Assert.Contains("project", badProject.Exception.Message, StringComparison.OrdinalIgnoreCase);

        var badRole = Assert.Single(owner.Run("New-AuditApiKey -Role Administrator -ProjectId $p", ("p", project)).Errors);
        Assert.Contains("Owner", badRole.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("EventWriter", badRole.Exception.Message, StringComparison.Ordinal);

        Assert.Empty(owner.Run("Get-AuditApiKey -ProjectId $p -IncludeRevoked", ("p", project)).ThrowOnError().Output);
    }

    [Fact]
    public void EventsOfAnotherProjectAreRefusedOneByOneAndTheRestIsStored()
    {
        var project = PowerShellClusterFixture.NewProjectId("psw");
        var other = PowerShellClusterFixture.NewProjectId("psw");
        string writer;
        using (var owner = fixture.Connect(project))
        {
            writer = (string)Assert.Single(owner.Run("New-AuditApiKey -Role EventWriter -ProjectId $p", ("p", project)).ThrowOnError().Output).Properties["Secret"].Value;
        }

        using var session = fixture.Connect(project, writer);
        var run = session.Run(
            "@($p, $o, $p) | ForEach-Object { [pscustomobject]@{ project_id = $_; locality = 'fr-par'; method_name = 'ListSecrets'; status_code = 200; principal_id = 'u'; source_ip = '192.0.2.1'; product_name = 'secret-manager' } } | Send-AuditEvent -PassThru",
            ("p", project), ("o", other));
        var error = Assert.Single(run.Errors);
        Assert.Equal(ErrorCategory.PermissionDenied, error.CategoryInfo.Category);
        Assert.Contains("project_id", error.Exception.Message, StringComparison.Ordinal);
        var summary = Assert.Single(run.Output);
        Assert.Equal(2, summary.Properties["Accepted"].Value);
        Assert.Equal(1, summary.Properties["Rejected"].Value);
    }

    private static string KeyId(string secret) => SecretPattern().Match(secret) is { Success: true } m ? m.Groups["id"].Value : throw new ArgumentException("not an API key", nameof(secret));

    [GeneratedRegex("^ao_(?<id>[0-9a-f]{16})_[A-Za-z0-9_-]{20,}$")]
    private static partial Regex SecretPattern();
}
