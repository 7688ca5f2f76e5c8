using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Sends a [TEST] notification of one alert to the project's Security contacts through the real
/// delivery path (recorded in the outbox, then emailed), and reports how the delivery went.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "AuditAlert", SupportsShouldProcess = true)]
[OutputType(typeof(AuditAlertFiring))]
public sealed class TestAuditAlertCommand : AuditCmdlet
{
    /// <summary>The alert to test.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(AlertNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>Region (or zone) the test notification is about.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string Region { get; set; } = "";

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    protected override void ProcessRecord()
    {
        if (!AlertCatalog.TryParse(Name, out var alert))
        {
            WriteAuditError(Names.DescribeUnknownAlert(Name), "UnknownAlertName", ErrorCategory.InvalidArgument, Name);
            return;
        }

        var projectId = ResolveProjectId(ProjectId);
        var region = Names.NormalizeRegion(Region);
        if (!ShouldProcess($"Security contacts of project '{projectId}'", $"Send a [TEST] {alert} notification for region '{region}'"))
        {
            return;
        }

        var grain = Grains.GetGrain<INotificationGrain>(0);
        if (!TryCall(() => grain.SendTestAsync(projectId, region, alert), "TestAuditAlertFailed", Name, out var fired))
        {
            return;
        }

        var result = AuditAlertFiring.From(fired, Connection.Settings.ConsoleUrl);
        if (result.DeliveryStatus == "NoRecipients")
        {
            WriteWarning($"Project '{projectId}' has no Security contact: nobody was notified. Add one with Add-AuditNotificationContact -Email <address> or -WebhookUrl <https URL>.");
        }
        else if (result.DeliveryStatus != nameof(DeliveryState.Delivered))
        {
            var problems = string.Join("; ", result.Deliveries.Where(static d => d.State != DeliveryState.Delivered)
                .Select(static d => d.LastError is null ? $"{d.Target ?? d.Recipient}: {d.State}" : $"{d.Target ?? d.Recipient}: {d.State} ({d.LastError})"));
            WriteWarning($"The test notification is not delivered to every contact yet: {problems}. The outbox retries; check the silo's SMTP settings, the webhook receivers and Get-AuditAlertHistory.");
        }

        WriteObject(result);
    }
}
