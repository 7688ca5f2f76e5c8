using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Lists a project's silences, newest first, with their state now (Pending, Active, Waiting,
/// Expired, Ended), when it changes next and how many firings each held. Silences that ended or
/// expired more than 7 days ago only with -IncludeEnded.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AuditAlertSilence")]
[OutputType(typeof(AuditAlertSilence))]
public sealed class GetAuditAlertSilenceCommand : AuditCmdlet
{
    /// <summary>Only these silences.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SilenceIdCompleter))]
    public string[]? Id { get; set; }

    /// <summary>Project; default: the project of Connect-AuditCluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Also the silences that ended or expired more than 7 days ago.</summary>
    [Parameter]
    public SwitchParameter IncludeEnded { get; set; }

    protected override void ProcessRecord()
    {
        var projectId = ResolveProjectId(ProjectId);
        var grain = Grains.GetGrain<IAlertSilenceGrain>(projectId);
        var all = IncludeEnded || Id is { Length: > 0 };
        if (!TryRead(() => grain.ListAsync(all), "GetAuditAlertSilenceFailed", projectId, out var silences))
        {
            return;
        }

        if (Id is not { Length: > 0 })
        {
            WriteObject(silences.Select(AuditAlertSilence.From), enumerateCollection: true);
            return;
        }

        foreach (var id in Id)
        {
            var silence = silences.FirstOrDefault(s => string.Equals(s.Id, id.Trim(), StringComparison.OrdinalIgnoreCase));
            if (silence is null)
            {
                WriteAuditError($"Project '{projectId}' has no silence '{Scope.Printable(id)}'.", "SilenceNotFound", ErrorCategory.ObjectNotFound, id,
                    "Run Get-AuditAlertSilence -IncludeEnded to list the project's silences.");
                continue;
            }

            WriteObject(AuditAlertSilence.From(silence));
        }
    }
}
