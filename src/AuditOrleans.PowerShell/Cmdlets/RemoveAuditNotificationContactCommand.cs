using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Removes notification contacts from a project: email addresses, or webhooks by URL or id.
/// Asks for confirmation unless -Force. Notices not yet delivered to a removed webhook fail.
/// A piped webhook contact reaches -Email as text, which is its id (wh_...): an id there removes
/// the webhook (an email address always has an @).
/// </summary>
[Cmdlet(VerbsCommon.Remove, "AuditNotificationContact", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = EmailSet)]
public sealed class RemoveAuditNotificationContactCommand : AuditCmdlet
{
    private const string EmailSet = "Email";
    private const string UrlSet = "WebhookUrl";
    private const string IdSet = "WebhookId";

    /// <summary>Email addresses to remove.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = EmailSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ContactEmailCompleter))]
    public string[] Email { get; set; } = [];

    /// <summary>The full URLs of webhooks to remove.</summary>
    [Parameter(Mandatory = true, ParameterSetName = UrlSet)]
    [ValidateNotNullOrEmpty]
    public Uri[] WebhookUrl { get; set; } = [];

    /// <summary>The id (wh_...) of a webhook to remove, as Get-AuditNotificationContact shows it.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(WebhookIdCompleter))]
    public string WebhookId { get; set; } = "";

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Removes without asking for confirmation (-WhatIf still only shows what would happen).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var projectId = ResolveProjectId(ProjectId);
        var grain = Grains.GetGrain<INotificationContactsGrain>(projectId);
        var whatIf = MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter { IsPresent: true };
        var items = ParameterSetName switch
        {
            UrlSet => WebhookUrl.Select(static u => (Key: u.IsAbsoluteUri ? u.AbsoluteUri : u.OriginalString, Shown: u.IsAbsoluteUri ? $"webhook {u.Scheme}://{u.Authority}/…" : Scope.Printable(u.OriginalString, 100), Webhook: true)),
            IdSet => [(Key: WebhookId, Shown: $"webhook {Scope.Printable(WebhookId, 100)}", Webhook: true)],
            _ => Email.Select(static e => WebhookSecretLimits.IsWebhookId(e.Trim()) ? (Key: e.Trim(), Shown: $"webhook {Scope.Printable(e, 100)}", Webhook: true) : (Key: e, Shown: e, Webhook: false)),
        };
        foreach (var (key, shown, webhook) in items)
        {
            var target = $"{shown} in project '{projectId}'";
            if (!(Force && !whatIf) && !ShouldProcess(target, "Remove notification contact"))
            {
                continue;
            }

            if (!TryCall(() => webhook ? grain.RemoveWebhookAsync(key) : grain.RemoveAsync(key), "RemoveNotificationContactFailed", shown, out var removed))
            {
                continue;
            }

            if (!removed)
            {
                WriteAuditError($"Project '{projectId}' has no notification contact '{Scope.Printable(shown)}'.", "NotificationContactNotFound",
                    ErrorCategory.ObjectNotFound, key, "Run Get-AuditNotificationContact to list the project's contacts.");
            }
            else
            {
                WriteVerbose($"Removed {target}.");
            }
        }
    }
}
