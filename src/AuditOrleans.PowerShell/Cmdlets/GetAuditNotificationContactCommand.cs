using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>Lists the notification contacts of a project: email addresses, then webhooks (never their secrets).</summary>
[Cmdlet(VerbsCommon.Get, "AuditNotificationContact")]
[OutputType(typeof(AuditNotificationContact), typeof(AuditWebhookContact))]
public sealed class GetAuditNotificationContactCommand : AuditCmdlet
{
    /// <summary>Only these addresses (wildcards allowed); webhooks are then left out.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContactEmailCompleter))]
    public string[]? Email { get; set; }

    /// <summary>Only contacts of this kind: Email or Webhook.</summary>
    [Parameter]
    [ValidateSet("Email", "Webhook")]
    public string? Kind { get; set; }

    /// <summary>Only contacts subscribed to one of these types.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public NotificationType[]? Type { get; set; }

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    protected override void ProcessRecord()
    {
        var projectId = ResolveProjectId(ProjectId);
        var grain = Grains.GetGrain<INotificationContactsGrain>(projectId);
        var types = Type?.Aggregate(NotificationType.None, static (all, t) => all | t);
        var wantEmail = Kind is null or "Email";
        var wantWebhooks = Kind is null or "Webhook" && Email is null;
        if (wantEmail)
        {
            if (!TryRead(grain.GetAsync, "GetNotificationContactFailed", projectId, out var contacts))
            {
                return;
            }

            var patterns = Email?.Select(static e => WildcardPattern.Get(e, WildcardOptions.IgnoreCase)).ToList();
            foreach (var contact in contacts.OrderBy(static c => c.Email, StringComparer.Ordinal))
            {
                if ((patterns is null || patterns.Any(p => p.IsMatch(contact.Email))) && (types is null || (contact.Types & types.Value) != 0))
                {
                    WriteObject(AuditNotificationContact.From(contact));
                }
            }
        }

        if (wantWebhooks && TryRead(grain.GetWebhooksAsync, "GetNotificationContactFailed", projectId, out var webhooks))
        {
            foreach (var webhook in webhooks.Where(w => types is null || (w.Types & types.Value) != 0))
            {
                WriteObject(AuditWebhookContact.From(webhook));
            }
        }
    }
}
