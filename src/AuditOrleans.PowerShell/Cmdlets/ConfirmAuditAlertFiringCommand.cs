using System.Management.Automation;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Takes firings: records that the caller's API key is on them, when, and an optional comment.
/// Get-AuditAlertHistory and the console's history then show who took them.
/// </summary>
[Cmdlet(VerbsLifecycle.Confirm, "AuditAlertFiring", SupportsShouldProcess = true)]
[OutputType(typeof(AuditAlertFiring))]
public sealed class ConfirmAuditAlertFiringCommand : AcknowledgeFiringCommand
{
    /// <summary>What you are doing about it (optional).</summary>
    [Parameter(Position = 1)]
    [ValidateLength(1, SilenceLimits.MaxCommentLength)]
    public string? Comment { get; set; }

    protected override FiringAction Action => FiringAction.Taken;

    protected override string? Text => Comment;
}
