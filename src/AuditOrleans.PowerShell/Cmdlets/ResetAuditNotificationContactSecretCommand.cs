using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Gives webhook contacts a new signing secret, shown once. During the grace period the previous
/// secret signs too (both signatures in webhook-signature), so the receiver can switch without
/// losing a notice.
/// </summary>
[Cmdlet(VerbsCommon.Reset, "AuditNotificationContactSecret", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = IdSet)]
[OutputType(typeof(AuditWebhookSecret))]
public sealed class ResetAuditNotificationContactSecretCommand : AuditCmdlet
{
    private const string UrlSet = "WebhookUrl";
    private const string IdSet = "WebhookId";

    /// <summary>The ids (wh_...) of the webhooks, as Get-AuditNotificationContact shows them.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(WebhookIdCompleter))]
    public string[] WebhookId { get; set; } = [];

    /// <summary>The full URLs of the webhooks.</summary>
    [Parameter(Mandatory = true, ParameterSetName = UrlSet)]
    [ValidateNotNullOrEmpty]
    public Uri[] WebhookUrl { get; set; } = [];

    /// <summary>How long the current secret keeps signing besides the new one (0 to 7 days); default: the silo's Notifications:Webhooks:RotationGracePeriod (1 day).</summary>
    [Parameter]
    public TimeSpan? GracePeriod { get; set; }

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Rotates without asking for confirmation (-WhatIf still only shows what would happen).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        if (GracePeriod is { } grace && (grace < TimeSpan.Zero || grace > WebhookSecretLimits.MaxGracePeriod))
        {
            ThrowAuditError($"-GracePeriod {grace} is out of range: give 0 (the current secret stops signing at once) up to {WebhookSecretLimits.MaxGracePeriod.TotalDays} days, e.g. (New-TimeSpan -Hours 24).",
                "InvalidGracePeriod", ErrorCategory.InvalidArgument, grace);
        }
    }

    protected override void ProcessRecord()
    {
        var projectId = ResolveProjectId(ProjectId);
        var grain = Grains.GetGrain<INotificationContactsGrain>(projectId);
        var whatIf = MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter { IsPresent: true };
        var items = ParameterSetName == UrlSet
            ? WebhookUrl.Select(static u => (Key: u.IsAbsoluteUri ? u.AbsoluteUri : u.OriginalString, Shown: u.IsAbsoluteUri ? $"{u.Scheme}://{u.Authority}/…" : Scope.Printable(u.OriginalString, 100)))
            : WebhookId.Select(static id => (Key: id, Shown: Scope.Printable(id, 100)));
        foreach (var (key, shown) in items)
        {
            var grace = GracePeriod is { } g ? $"the current one signs too for {g}" : "the current one signs too for the silo's grace period";
            if (!(Force && !whatIf) && !ShouldProcess($"webhook {shown} in project '{projectId}' ({grace})", "Reset webhook secret"))
            {
                continue;
            }

            if (!TryCall(() => grain.ResetWebhookSecretAsync(key, GracePeriod), "ResetNotificationContactSecretFailed", shown, out var issued))
            {
                continue;
            }

            if (issued is null)
            {
                WriteAuditError($"Project '{projectId}' has no webhook contact '{shown}'.", "NotificationContactNotFound",
                    ErrorCategory.ObjectNotFound, key, "Run Get-AuditNotificationContact -Kind Webhook to list the project's webhooks and their ids.");
                continue;
            }

            WriteVerbose($"New secret for the webhook {issued.Contact.DisplayUrl} of project '{projectId}'; it is shown this once.");
            WriteObject(AuditWebhookSecret.From(issued));
        }
    }
}
