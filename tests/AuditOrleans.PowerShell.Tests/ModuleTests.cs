using System.Diagnostics;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace AuditOrleans.PowerShell.Tests;

[Collection(PowerShellCollection.Name)]
public sealed class ModuleTests(PowerShellClusterFixture fixture)
{
    /// <summary>Every cmdlet of the contract with the parameters scripts rely on.</summary>
    public static readonly Dictionary<string, string[]> Contract = new()
    {
        ["Connect-AuditCluster"] = ["Gateway", "ProjectId", "ApiKey", "ClusterId", "ServiceId", "ConsoleUrl", "TimeoutSec", "FailoverTimeoutSec", "UseTls", "TrustedCertificatePath", "TlsServerName", "PassThru"],
        ["Disconnect-AuditCluster"] = [],
        ["Get-AuditAlert"] = ["Name", "Region", "ProjectId"],
        ["Enable-AuditAlert"] = ["Name", "Region", "ProjectId", "PassThru", "WhatIf", "Confirm"],
        ["Disable-AuditAlert"] = ["Name", "Region", "ProjectId", "PassThru", "WhatIf", "Confirm"],
        ["Send-AuditEvent"] = ["Id", "RecordedAt", "Locality", "OrganizationId", "ProjectId", "PrincipalId", "Principal", "SourceIp", "UserAgent",
            "ProductName", "ServiceName", "MethodName", "StatusCode", "RequestId", "RequestBody", "Resources", "BatchSize", "PassThru", "Historical",
            "Kind", "SystemKind", "Result", "FailureReason", "Method", "Origin", "MfaType", "CountryCode", "Source", "SystemName"],
        ["Get-AuditEvent"] = ["Region", "ProjectId", "RecordedAfter", "RecordedBefore", "PrincipalId", "SourceIp", "MethodName", "StatusCode",
            "ProductName", "ResourceId", "Kind", "Newest", "Oldest", "First"],
        ["Export-AuditEvent"] = ["Path", "Region", "ProjectId", "RecordedAfter", "RecordedBefore", "PrincipalId", "SourceIp", "MethodName",
            "StatusCode", "ProductName", "ResourceId", "Kind", "Newest", "Oldest", "First", "NoClobber", "PassThru", "WhatIf"],
        ["Get-AuditAlertHistory"] = ["Name", "Region", "ProjectId", "After", "First", "Id", "SilenceId"],
        ["New-AuditAlertSilence"] = ["Name", "Reason", "Region", "ProjectId", "PrincipalId", "SourceIp", "Start", "End", "Duration", "DaysOfWeek", "At", "TimeZone", "WhatIf", "Confirm"],
        ["Get-AuditAlertSilence"] = ["Id", "ProjectId", "IncludeEnded"],
        ["Stop-AuditAlertSilence"] = ["Id", "ProjectId", "Comment", "PassThru", "WhatIf", "Confirm"],
        ["Confirm-AuditAlertFiring"] = ["Id", "Comment", "ProjectId", "PassThru", "WhatIf", "Confirm"],
        ["Close-AuditAlertFiring"] = ["Id", "Comment", "ProjectId", "PassThru", "WhatIf", "Confirm"],
        ["Add-AuditNotificationContact"] = ["Email", "WebhookUrl", "Format", "Type", "ProjectId", "PassThru", "WhatIf"],
        ["Get-AuditNotificationContact"] = ["Email", "Kind", "Type", "ProjectId"],
        ["Remove-AuditNotificationContact"] = ["Email", "WebhookUrl", "WebhookId", "ProjectId", "Force", "WhatIf", "Confirm"],
        ["Reset-AuditNotificationContactSecret"] = ["WebhookId", "WebhookUrl", "GracePeriod", "ProjectId", "Force", "WhatIf", "Confirm"],
        ["Test-AuditAlert"] = ["Name", "Region", "ProjectId", "WhatIf"],
        ["Test-AuditTrailIntegrity"] = ["Region", "ProjectId", "Checkpoint"],
        ["Get-AuditTrailCheckpoint"] = ["Region", "ProjectId", "First"],
        ["New-AuditApiKey"] = ["Role", "ProjectId", "Description", "WhatIf", "Confirm"],
        ["Get-AuditApiKey"] = ["Id", "Role", "ProjectId", "IncludeRevoked"],
        ["Remove-AuditApiKey"] = ["Id", "Force", "PassThru", "WhatIf", "Confirm"],
        ["New-AuditAlertRule"] = ["Name", "Query", "EvaluationWindow", "Occurrences", "Severity", "Region", "Description", "DryRun", "Disabled", "ProjectId", "WhatIf", "Confirm"],
        ["Get-AuditAlertRule"] = ["Name", "Region", "ProjectId"],
        ["Set-AuditAlertRule"] = ["Name", "NewName", "Description", "Region", "ProjectId", "PassThru", "WhatIf", "Confirm"],
        ["Remove-AuditAlertRule"] = ["Name", "Region", "ProjectId", "Force", "WhatIf", "Confirm"],
        ["Test-AuditAlertRule"] = ["Query", "EvaluationWindow", "Occurrences", "Path", "Start", "End", "Region", "ProjectId", "FiringOnly"],
    };

    [Fact]
    public void ManifestExportsExactlyTheContractCmdletsWithTheirParameters()
    {
        using var ps = new PowerShellSession();
        var commands = ps.Run("Get-Command -Module AuditOrleans").ThrowOnError().Output;

        Assert.Equal(Contract.Keys.Order(), commands.Select(static c => c.Properties["Name"].Value.ToString()!).Order());
        foreach (var command in commands)
        {
            var name = command.Properties["Name"].Value.ToString()!;
            Assert.Equal("Cmdlet", command.Properties["CommandType"].Value.ToString());
            var parameters = ((System.Collections.IDictionary)command.Properties["Parameters"].Value).Keys.Cast<string>().ToHashSet();
            Assert.All(Contract[name], p => Assert.True(parameters.Contains(p), $"{name} has no -{p}"));
        }
    }

    [Fact]
    public void EveryCmdletHasHelpWithExamples()
    {
        using var ps = new PowerShellSession();

        foreach (var name in Contract.Keys)
        {
            var help = Assert.Single(ps.Run("Get-Help -Name $name -Full", ("name", name)).ThrowOnError().Output);
            var synopsis = help.Properties["Synopsis"].Value?.ToString()?.Trim();
            Assert.False(string.IsNullOrEmpty(synopsis) || synopsis.StartsWith(name, StringComparison.Ordinal), $"{name} has no synopsis");
            var examples = ps.Run("@((Get-Help -Name $name -Examples).examples.example).Count", ("name", name)).ThrowOnError();
            Assert.True((int)examples.Output[0].BaseObject > 0, $"{name} has no example");
        }

        var about = ps.Run("Get-Help about_AuditOrleans").ThrowOnError();
        Assert.Contains("Enable-AuditAlert -Name HttpForbiddenErrorRateHigh -Region fr-par", string.Join("\n", about.Output));
    }

    [Fact]
    public void BuildScriptParsesAndHasHelpWithExamples()
    {
        var script = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(PowerShellSession.ModuleManifest)))!, "..", "build.ps1");
        System.Management.Automation.Language.Parser.ParseFile(script, out _, out var parseErrors);
        Assert.Empty(parseErrors);

        using var ps = new PowerShellSession(import: false);
        var help = Assert.Single(ps.Run("Get-Help -Name $script -Full", ("script", script)).ThrowOnError().Output);

        Assert.Contains("Builds, tests and packages", help.Properties["Synopsis"].Value.ToString());
        var examples = ps.Run("@((Get-Help -Name $script -Examples).examples.example).Count", ("script", script)).ThrowOnError();
        Assert.Equal(3, examples.Output[0].BaseObject);
        var task = ps.Run("(Get-Command -Name $script).Parameters['Task'].Attributes.ValidValues", ("script", script)).ThrowOnError();
        Assert.Equal(["Build", "Test", "Package"], task.Output.Select(static o => o.BaseObject.ToString()));
    }

    [Fact]
    public void ManifestIsCoreOnlyWithTheBuildVersion()
    {
        using var ps = new PowerShellSession(import: false);
        var module = Assert.Single(ps.Run("Test-ModuleManifest -Path $manifest", ("manifest", PowerShellSession.ModuleManifest)).ThrowOnError().Output);

        Assert.Equal(typeof(PowerShellSession).Assembly.GetName().Version!.ToString(3), module.Properties["Version"].Value.ToString());
        Assert.Equal(["Core"], ((IEnumerable<string>)module.Properties["CompatiblePSEditions"].Value).ToArray());
        Assert.Equal(new Version(7, 4), module.Properties["PowerShellVersion"].Value);
    }

    [Fact]
    public void CmdletsAndOrleansLoadInTheModulesOwnLoadContext()
    {
        using var ps = new PowerShellSession();
        var run = ps.Run("""
            $command = Get-Command Connect-AuditCluster
            [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($command.ImplementingType.Assembly).Name
            [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext([AuditOrleans.PowerShell.Loader.ModuleLoader]::Context.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('Orleans.Core'))).Name
            """).ThrowOnError();

        Assert.Equal(["AuditOrleans", "AuditOrleans"], run.Output.Select(static o => o.BaseObject.ToString()));
        // The test host itself runs Orleans in the default context: two copies side by side, no clash.
        Assert.Contains(AppDomain.CurrentDomain.GetAssemblies(),
            a => a.GetName().Name == "Orleans.Core" && System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(a) == System.Runtime.Loader.AssemblyLoadContext.Default);
    }

    [Fact]
    public void ADeadGatewayFailsFastNamingTheGateway()
    {
        var port = FreePort();
        using var ps = new PowerShellSession();
        var clock = Stopwatch.StartNew();

        var run = ps.Run("Connect-AuditCluster -Gateway $gateway -TimeoutSec 2", ("gateway", $"127.0.0.1:{port}"));

        clock.Stop();
        var error = Assert.Single(run.Errors);
        Assert.Equal("ClusterUnreachable,AuditOrleans.PowerShell.Cmdlets.ConnectAuditClusterCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ConnectionError, error.CategoryInfo.Category);
        Assert.Contains($"127.0.0.1:{port}", error.Exception.Message);
        Assert.DoesNotContain("   at ", error.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"took {clock.Elapsed}");
    }

    [Fact]
    public void GatewayComesFromTheEnvironmentWhenNotGiven()
    {
        var port = FreePort();
        using var ps = new PowerShellSession();

        var run = ps.Run("""
            $env:AUDITORLEANS_GATEWAY = $gateway
            try { Connect-AuditCluster -TimeoutSec 1 } finally { $env:AUDITORLEANS_GATEWAY = $null }
            """, ("gateway", $"127.0.0.1:{port}"));

        Assert.Contains($"127.0.0.1:{port}", Assert.Single(run.Errors).Exception.Message);
    }

    [Fact]
    public void CmdletsWithoutAConnectionSayToConnectFirst()
    {
        using var ps = new PowerShellSession();

        var error = Assert.Single(ps.Run("Get-AuditAlert").Errors);

        Assert.StartsWith("NotConnected,", error.FullyQualifiedErrorId);
        Assert.Contains("Connect-AuditCluster", error.ErrorDetails.RecommendedAction);
    }

    [Fact]
    public void ConnectingWithoutAProjectSaysWhichProjectTheSessionTargets()
    {
        using var ps = new PowerShellSession();
        (string, object?)[] values = [("gateway", fixture.Gateway), ("clusterId", fixture.Cluster.Options.ClusterId), ("serviceId", fixture.Cluster.Options.ServiceId),
            ("key", PowerShellClusterFixture.OwnerApiKey), ("project", PowerShellClusterFixture.NewProjectId())];
        const string Connect = "Connect-AuditCluster -Gateway $gateway -ClusterId $clusterId -ServiceId $serviceId -ApiKey $key";

        var defaulted = ps.Run(Connect, values).ThrowOnError();
        var warning = Assert.Single(defaulted.Warnings);
        Assert.Contains("'default'", warning, StringComparison.Ordinal);
        Assert.Contains("-ProjectId", warning, StringComparison.Ordinal);

        // Named: no warning; -Verbose says it, and changes that print nothing name their target.
        var named = ps.Run(Connect + " -ProjectId $project -Verbose", values).ThrowOnError();
        Assert.Empty(named.Warnings);
        Assert.Contains(named.Verbose, v => v.Contains("'" + values[4].Item2 + "'", StringComparison.Ordinal));
        var changes = ps.Run("Enable-AuditAlert -Name ApiKeyCreated -Region fr-par -Verbose; Add-AuditNotificationContact -Email soc@example.com -Verbose").ThrowOnError();
        Assert.Contains(changes.Verbose, v => v.StartsWith("Enabled ApiKeyCreated", StringComparison.Ordinal) && v.Contains($"project '{values[4].Item2}'", StringComparison.Ordinal));
        Assert.Contains(changes.Verbose, v => v.StartsWith("Added soc@example.com", StringComparison.Ordinal) && v.Contains($"project '{values[4].Item2}'", StringComparison.Ordinal));
    }

    [Fact]
    public void ConnectionDefaultsTheProjectAndDisconnectCloses()
    {
        using var ps = fixture.Connect("proj-connect");
        var alerts = ps.Run("Get-AuditAlert -Region fr-par").ThrowOnError();
        Assert.All(alerts.Property("ProjectId"), p => Assert.Equal("proj-connect", p));

        ps.Run("Disconnect-AuditCluster").ThrowOnError();
        Assert.StartsWith("NotConnected,", Assert.Single(ps.Run("Get-AuditAlert").Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public async Task TheApiKeyTravelsWithEveryCallAndComesFromTheEnvironmentToo()
    {
        var withKey = PowerShellClusterFixture.NewProjectId();
        var fromEnvironment = PowerShellClusterFixture.NewProjectId();
        var withoutKey = PowerShellClusterFixture.NewProjectId();
        var managerKey = await fixture.CreateApiKeyAsync(ApiKeyRole.AlertsManager, fromEnvironment);
        var connect = "Connect-AuditCluster -Gateway $gateway -ClusterId $clusterId -ServiceId $serviceId -ProjectId $project";
        (string, object?)[] cluster = [("gateway", fixture.Gateway), ("clusterId", fixture.Cluster.Options.ClusterId), ("serviceId", fixture.Cluster.Options.ServiceId)];

        using (var ps = new PowerShellSession())
        {
            // The silo checks the key of every call: these only succeed if the key arrived.
            var connection = ps.Run($"{connect} -ApiKey $key -PassThru; Get-AuditAlert -Region fr-par | Out-Null",
                [.. cluster, ("project", withKey), ("key", PowerShellClusterFixture.OwnerApiKey)]).ThrowOnError();
            Assert.Equal(true, Assert.Single(connection.Output).Properties["UsesApiKey"].Value);
            Assert.DoesNotContain(Assert.Single(connection.Output).Properties, p => Equals(p.Value, PowerShellClusterFixture.OwnerApiKey));
            ps.Run($"$env:AUDITORLEANS_API_KEY = $key; try {{ {connect} }} finally {{ $env:AUDITORLEANS_API_KEY = $null }}; Enable-AuditAlert -Name ApiKeyCreated -Region nl-ams",
                [.. cluster, ("project", fromEnvironment), ("key", managerKey)]).ThrowOnError();

            // Without a key the silo refuses, and the module says so with PermissionDenied.
            var refused = ps.Run($"{connect}; Get-AuditAlert -Region pl-waw", [.. cluster, ("project", withoutKey)]);
            var error = Assert.Single(refused.Errors);
            Assert.Equal(ErrorCategory.PermissionDenied, error.CategoryInfo.Category);
            Assert.Contains("no API key was presented", error.Exception.Message, StringComparison.Ordinal);
        }

        var config = await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(fromEnvironment, "nl-ams")).GetAsync();
        Assert.Equal([AlertName.ApiKeyCreated], config.Active);
    }

    [Fact]
    public void TheApiKeyMayBeASecureStringOrACredentialButNotEmpty()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = new PowerShellSession();
        (string, object?)[] values = [("gateway", fixture.Gateway), ("clusterId", fixture.Cluster.Options.ClusterId), ("serviceId", fixture.Cluster.Options.ServiceId),
            ("project", project), ("key", PowerShellClusterFixture.OwnerApiKey)];
        const string Secure = "$secure = [securestring]::new(); foreach ($c in $key.ToCharArray()) { $secure.AppendChar($c) }; ";
        const string Connect = "Connect-AuditCluster -Gateway $gateway -ClusterId $clusterId -ServiceId $serviceId -ProjectId $project";

        // As Get-Secret returns it; the silo accepts the calls only if the key arrived.
        var parameter = ps.Run("(Get-Command Connect-AuditCluster).Parameters['ApiKey'].ParameterType.FullName").ThrowOnError();
        Assert.Equal("System.Security.SecureString", Assert.Single(parameter.Output).BaseObject);
        ps.Run(Secure + Connect + " -ApiKey $secure; Get-AuditAlert -Region fr-par | Out-Null", values).ThrowOnError();
        ps.Run(Secure + Connect + " -ApiKey ([pscredential]::new('auditorleans', $secure)); Get-AuditAlert -Region fr-par | Out-Null", values).ThrowOnError();

        var empty = Assert.Single(ps.Run(Connect + " -ApiKey ''", values).Errors);
        Assert.StartsWith("ParameterArgumentTransformationError,", empty.FullyQualifiedErrorId);
        Assert.Contains("AUDITORLEANS_API_KEY", empty.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CtrlCStopsAConnectThatIsStillTrying()
    {
        using var ps = new PowerShellSession();
        using var shell = System.Management.Automation.PowerShell.Create(ps.Runspace);
        shell.AddScript("Connect-AuditCluster -Gateway $gateway -TimeoutSec 60 -Verbose");
        ps.Runspace.SessionStateProxy.SetVariable("gateway", $"127.0.0.1:{FreePort()}");

        var invocation = shell.BeginInvoke();
        // The cmdlet says "Connecting to ..." just before it starts waiting for the gateway.
        Assert.True(SpinWait.SpinUntil(() => shell.Streams.Verbose.Count > 0, TimeSpan.FromSeconds(30)));
        var clock = Stopwatch.StartNew();
        shell.Stop();

        Assert.True(invocation.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(10)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {clock.Elapsed}");
        Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);
    }

    [Fact]
    public void TabCompletesAlertNamesAndRegions()
    {
        using var ps = new PowerShellSession();

        string[] Complete(string line) => [.. ps.Run("[System.Management.Automation.CommandCompletion]::CompleteInput($line, $line.Length, $null).CompletionMatches.CompletionText", ("line", line))
            .ThrowOnError().Output.Select(static o => o.BaseObject.ToString()!)];

        Assert.Equal(["HttpForbiddenErrorRateHigh"], Complete("Enable-AuditAlert -Name Http"));
        Assert.Equal(["ApiKeyCreated", "ApiKeyCreationUnauthorized"], Complete("Get-AuditAlert -Name ApiKeyCr"));
        Assert.Equal(["nl-ams"], Complete("Enable-AuditAlert -Name ApiKeyCreated -Region nl"));
        Assert.Equal(["fr-par", "nl-ams", "pl-waw"], Complete("Get-AuditEvent -Region "));

        // Never file names (what PowerShell offers when a completer answers nothing).
        Assert.Equal(["default"], Complete("Get-AuditAlert -ProjectId "));
        Assert.Equal(["my-pro"], Complete("Send-AuditEvent -ProjectId my-pro"));
        Assert.Equal(["''"], Complete("Add-AuditNotificationContact -Email "));
        Assert.Contains("127.0.0.1:30000", Complete("Connect-AuditCluster -Gateway "));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
