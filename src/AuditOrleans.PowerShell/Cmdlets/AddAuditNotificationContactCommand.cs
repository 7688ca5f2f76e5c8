using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Adds notification contacts to a project, or adds types to existing ones. Alerts are emailed
/// to the contacts of type Security (the default).
/// </summary>
[Cmdlet(VerbsCommon.Add, "AuditNotificationContact", SupportsShouldProcess = true)]
[OutputType(typeof(AuditNotificationContact))]
public sealed class AddAuditNotificationContactCommand : AuditCmdlet
{
    /// <summary>Email addresses.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ContactEmailCompleter))]
    public string[] Email { get; set; } = [];

    /// <summary>Notification types: Security, Incident, Technical, Billing.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public NotificationType[] Type { get; set; } = [NotificationType.Security];

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Returns the contacts.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var projectId = ResolveProjectId(ProjectId);
        var types = Type.Aggregate(NotificationType.None, static (all, t) => all | t);
        if (types == NotificationType.None)
        {
            ThrowAuditError("Give one or more notification types: Security, Incident, Technical or Billing.", "InvalidNotificationType", ErrorCategory.InvalidArgument, Type);
        }

        var grain = Grains.GetGrain<INotificationContactsGrain>(projectId);
        foreach (var email in Email)
        {
            if (!ShouldProcess($"{email} ({types}) in project '{projectId}'", "Add notification contact"))
            {
                continue;
            }

            if (!TryCall(() => grain.AddAsync(email, types), "AddNotificationContactFailed", email, out var contact))
            {
                continue;
            }

            WriteVerbose($"Added {email} ({contact.Types}) to the notification contacts of project '{projectId}'.");
            if (PassThru)
            {
                WriteObject(AuditNotificationContact.From(contact));
            }
        }
    }
}
