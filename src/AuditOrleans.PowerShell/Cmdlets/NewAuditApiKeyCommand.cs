using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Creates an API key (Owner keys only). The secret is returned once: the silo keeps only a
/// salted hash of it.
/// </summary>
[Cmdlet(VerbsCommon.New, "AuditApiKey", SupportsShouldProcess = true)]
[OutputType(typeof(AuditApiKeySecret))]
public sealed class NewAuditApiKeyCommand : AuditCmdlet
{
    /// <summary>Owner (everything, all projects), AlertsManager, ReadOnly or EventWriter.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public ApiKeyRole Role { get; set; }

    /// <summary>The project of the key; default: the project of Connect-AuditCluster. Not used for Owner keys.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Free text to recognise the key later (who or what uses it).</summary>
    [Parameter]
    [ValidateLength(0, 256)]
    public string? Description { get; set; }

    protected override void ProcessRecord()
    {
        var projectId = Role == ApiKeyRole.Owner ? null : ResolveProjectId(ProjectId);
        var target = projectId is null ? $"{Role} key for all projects" : $"{Role} key for project '{projectId}'";
        if (!ShouldProcess(target, "Create API key"))
        {
            return;
        }

        var grain = Grains.GetGrain<IApiKeyGrain>(0);
        if (TryCall(() => grain.CreateAsync(Role, projectId, Description), "NewApiKeyFailed", target, out var created))
        {
            WriteWarning($"The secret of key {created.Key.Id} is shown only now: store it in a secret manager. The silo keeps only a hash of it.");
            WriteObject(AuditApiKeySecret.From(created));
        }
    }
}
