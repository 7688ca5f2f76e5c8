using System.Management.Automation;
using System.Security;
using AuditOrleans.PowerShell.Client;
using AuditOrleans.PowerShell.Internal;
using AuditOrleans.Tls;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Connects the session to an AuditOrleans cluster through one or more silo gateways. The other
/// cmdlets use this connection and its default project.
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "AuditCluster")]
[OutputType(typeof(AuditClusterConnection))]
public sealed class ConnectAuditClusterCommand : AuditCmdlet
{
    public const string GatewayVariable = "AUDITORLEANS_GATEWAY";
    public const string ProjectIdVariable = "AUDITORLEANS_PROJECT_ID";
    public const string ApiKeyVariable = ApiKeyHeaders.EnvironmentVariable;
    public const string ConsoleUrlVariable = "AUDITORLEANS_CONSOLE_URL";
    public const string DefaultGateway = "127.0.0.1:30000";
    public const string DefaultClusterId = "auditorleans";
    public const string DefaultConsoleUrl = "http://localhost:8080";
    public const int DefaultFailoverTimeoutSec = 120;

    /// <summary>Silo gateways as host:port; default $env:AUDITORLEANS_GATEWAY (comma-separated), then 127.0.0.1:30000.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(GatewayCompleter))]
    public string[]? Gateway { get; set; }

    /// <summary>Default project of the session; default $env:AUDITORLEANS_PROJECT_ID, then 'default'.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>
    /// API key sent with every call: a SecureString (Get-Secret, Read-Host -AsSecureString), a
    /// PSCredential (its password) or plain text; default $env:AUDITORLEANS_API_KEY.
    /// </summary>
    [Parameter]
    [ValidateNotNull]
    [SecretArgument]
    public SecureString? ApiKey { get; set; }

    /// <summary>Orleans ClusterId of the silos (their AuditOrleans:Cluster:ClusterId).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ClusterId { get; set; } = DefaultClusterId;

    /// <summary>Orleans ServiceId of the silos (their AuditOrleans:Cluster:ServiceId).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ServiceId { get; set; } = DefaultClusterId;

    /// <summary>Base URL of the web console, for the links of Get-AuditAlertHistory; default $env:AUDITORLEANS_CONSOLE_URL, then http://localhost:8080.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConsoleUrl { get; set; }

    /// <summary>Seconds to keep trying to reach a gateway before giving up.</summary>
    [Parameter]
    [ValidateRange(1, 300)]
    public int TimeoutSec { get; set; } = 5;

    /// <summary>Seconds a call keeps trying while a silo restarts or the cluster fails over, before it fails (reads and Send-AuditEvent).</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int FailoverTimeoutSec { get; set; } = DefaultFailoverTimeoutSec;

    /// <summary>Connects with TLS (the silos have AuditOrleans:Tls:CertificatePath); implied by -TrustedCertificatePath and -TlsServerName.</summary>
    [Parameter]
    public SwitchParameter UseTls { get; set; }

    /// <summary>Certificate(s) to trust for the gateway, PEM or DER: a CA, or the silos' self-signed certificate. Default: the system's trusted authorities.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TrustedCertificatePath { get; set; }

    /// <summary>Name the gateway's certificate must carry; default: the host of -Gateway.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TlsServerName { get; set; }

    /// <summary>Returns the connection.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        var gateways = Gateway ?? Split(Environment.GetEnvironmentVariable(GatewayVariable)) ?? [DefaultGateway];
        gateways = [.. gateways.SelectMany(static g => g.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

        var projectId = (ProjectId ?? NonEmpty(Environment.GetEnvironmentVariable(ProjectIdVariable)) ?? Scope.DefaultProjectId).Trim();
        if (!Scope.IsValidProjectId(projectId))
        {
            ThrowAuditError(Scope.DescribeProjectIdRule(projectId), "InvalidProjectId", ErrorCategory.InvalidArgument, projectId,
                ProjectId is null ? $"Fix ${ProjectIdVariable} or pass -ProjectId." : null);
        }

        var consoleUrl = ConsoleUrl ?? NonEmpty(Environment.GetEnvironmentVariable(ConsoleUrlVariable)) ?? DefaultConsoleUrl;
        if (!Uri.TryCreate(consoleUrl, UriKind.Absolute, out var console) || console.Scheme is not ("http" or "https"))
        {
            ThrowAuditError($"Console URL '{Scope.Printable(consoleUrl)}' is not an absolute http(s) URL.", "InvalidConsoleUrl", ErrorCategory.InvalidArgument, consoleUrl,
                "Pass -ConsoleUrl like https://audit.example.com (or fix $env:AUDITORLEANS_CONSOLE_URL).");
        }

        var settings = new ConnectionSettings(
            gateways,
            ClusterId.Trim(),
            ServiceId.Trim(),
            projectId,
            ApiKey is null ? NonEmpty(Environment.GetEnvironmentVariable(ApiKeyVariable)) : SecretArgumentAttribute.Reveal(ApiKey),
            consoleUrl.TrimEnd('/'),
            TimeSpan.FromSeconds(TimeoutSec),
            TimeSpan.FromSeconds(30))
        {
            FailoverTimeout = TimeSpan.FromSeconds(FailoverTimeoutSec),
            Tls = UseTls || TrustedCertificatePath is not null || TlsServerName is not null
                ? new ConnectionTls(TrustedCertificatePath is null ? null : GetUnresolvedProviderPathFromPSPath(TrustedCertificatePath), TlsServerName?.Trim())
                : null,
        };

        WriteVerbose($"Connecting to {string.Join(", ", gateways)} (ClusterId '{settings.ClusterId}', ServiceId '{settings.ServiceId}'{(settings.Tls is null ? "" : ", TLS")}).");
        AuditConnection connection;
        try
        {
            connection = Await(AuditConnection.ConnectAsync(settings, StopToken));
        }
        catch (ArgumentException ex) when (ex.InnerException is TlsCertificateException)
        {
            ThrowAuditError(ex.Message, "InvalidTrustedCertificate", ErrorCategory.InvalidArgument, TrustedCertificatePath);
            return;
        }
        catch (ArgumentException ex)
        {
            ThrowAuditError(ex.Message, "InvalidGateway", ErrorCategory.InvalidArgument, gateways);
            return;
        }
        catch (Exception ex) when (TlsClientBuilderExtensions.TlsFailureMessage(ex) is { } tlsFailure)
        {
            WriteDebug(ex.ToString());
            ThrowAuditError(
                $"Could not connect to the AuditOrleans cluster at {string.Join(", ", gateways)}: {tlsFailure}",
                "TlsHandshakeFailed",
                ErrorCategory.SecurityError,
                gateways,
                "Trust the silos' certificate with -TrustedCertificatePath (the CA or the self-signed certificate, PEM), and give the name it carries with -TlsServerName if it differs from the gateway's host.");
            return;
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteDebug(ex.ToString());
            var reason = ex is OperationCanceledException ? $"no answer within {TimeoutSec} s" : AuditErrors.Unwrap(ex).Message.Split('\n')[0].Trim();
            ThrowAuditError(
                $"Could not connect to the AuditOrleans cluster at {string.Join(", ", gateways)} (ClusterId '{settings.ClusterId}', ServiceId '{settings.ServiceId}'): {reason}",
                AuditErrors.ClusterUnreachable,
                ErrorCategory.ConnectionError,
                gateways,
                settings.Tls is null
                    ? "Check that a silo is running and that -Gateway (or $env:AUDITORLEANS_GATEWAY), -ClusterId and -ServiceId match its configuration; if the silos use TLS (AuditOrleans:Tls), add -UseTls."
                    : "Check that a silo is running, that it uses TLS (AuditOrleans:Tls:CertificatePath), and that -Gateway (or $env:AUDITORLEANS_GATEWAY), -ClusterId and -ServiceId match its configuration.");
            return;
        }

        if (AuditSession.Set(connection) is { } previous)
        {
            Await(previous.DisposeAsync().AsTask());
        }

        var projectSource = ProjectId is not null ? "-ProjectId" : NonEmpty(Environment.GetEnvironmentVariable(ProjectIdVariable)) is not null ? $"${ProjectIdVariable}" : null;
        if (projectSource is null)
        {
            // Nothing said which project: say which one every cmdlet will work on.
            WriteWarning($"Connected to {connection.GatewayList}. No -ProjectId (nor $env:{ProjectIdVariable}) was given: cmdlets work on project '{projectId}' unless they are given -ProjectId. To work on another project, connect with -ProjectId <id>.");
        }
        else
        {
            WriteVerbose($"Connected to {connection.GatewayList}; cmdlets work on project '{projectId}' (from {projectSource}) unless they are given -ProjectId.");
        }

        if (PassThru)
        {
            WriteObject(Describe(connection));
        }
    }

    internal static AuditClusterConnection Describe(AuditConnection connection) => new()
    {
        Gateways = [.. connection.Settings.Gateways],
        ClusterId = connection.Settings.ClusterId,
        ServiceId = connection.Settings.ServiceId,
        ProjectId = connection.Settings.ProjectId,
        UsesApiKey = connection.Settings.ApiKey is not null,
        UsesTls = connection.Settings.Tls is not null,
        ConsoleUrl = connection.Settings.ConsoleUrl,
        ConnectedAt = connection.ConnectedAt,
    };

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static string[]? Split(string? value) => NonEmpty(value) is { } text ? [text] : null;
}
