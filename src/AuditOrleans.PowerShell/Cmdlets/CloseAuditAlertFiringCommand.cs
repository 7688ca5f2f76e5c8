using System.Management.Automation;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Closes firings with a comment (what was found, what was done), recording the caller's API
/// key and the time. A closed firing cannot be taken or closed again.
/// </summary>
[Cmdlet(VerbsCommon.Close, "AuditAlertFiring", SupportsShouldProcess = true)]
[OutputType(typeof(AuditAlertFiring))]
public sealed class CloseAuditAlertFiringCommand : AcknowledgeFiringCommand
{
    /// <summary>What was found and done (required).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    [ValidateLength(1, SilenceLimits.MaxCommentLength)]
    public string Comment { get; set; } = "";

    protected override FiringAction Action => FiringAction.Closed;

    protected override string? Text => Comment;
}
