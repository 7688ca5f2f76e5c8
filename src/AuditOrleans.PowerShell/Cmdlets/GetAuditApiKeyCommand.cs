using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>Lists API keys (Owner keys only): id, role, project and dates, never the secrets.</summary>
[Cmdlet(VerbsCommon.Get, "AuditApiKey")]
[OutputType(typeof(AuditApiKey))]
public sealed class GetAuditApiKeyCommand : AuditCmdlet
{
    /// <summary>Only the keys with these ids (wildcards allowed).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Id { get; set; }

    /// <summary>Only the keys of these roles.</summary>
    [Parameter]
    public ApiKeyRole[]? Role { get; set; }

    /// <summary>Only the keys bound to this project.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Also lists revoked keys.</summary>
    [Parameter]
    public SwitchParameter IncludeRevoked { get; set; }

    protected override void ProcessRecord()
    {
        var grain = Grains.GetGrain<IApiKeyGrain>(0);
        if (!TryRead(() => grain.ListAsync(IncludeRevoked), "GetApiKeyFailed", null, out var keys))
        {
            return;
        }

        var patterns = Id?.Select(static p => new WildcardPattern(p, WildcardOptions.IgnoreCase)).ToList();
        foreach (var key in keys)
        {
            if ((patterns is null || patterns.Any(p => p.IsMatch(key.Id)))
                && (Role is null || Role.Contains(key.Role))
                && (ProjectId is null || string.Equals(key.ProjectId, ProjectId, StringComparison.Ordinal)))
            {
                WriteObject(AuditApiKey.From(key));
            }
        }
    }
}
