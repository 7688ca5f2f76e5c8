using System.Management.Automation;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>Revokes API keys (Owner keys only). Asks for confirmation unless -Force.</summary>
[Cmdlet(VerbsCommon.Remove, "AuditApiKey", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(AuditApiKey))]
public sealed class RemoveAuditApiKeyCommand : AuditCmdlet
{
    /// <summary>Ids of the keys to revoke (as listed by Get-AuditApiKey).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Id { get; set; } = [];

    /// <summary>Revokes without asking for confirmation (-WhatIf still only shows what would happen).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Returns the revoked keys.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var grain = Grains.GetGrain<IApiKeyGrain>(0);
        var whatIf = MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter { IsPresent: true };
        foreach (var id in Id)
        {
            if (!(Force && !whatIf) && !ShouldProcess($"API key {id}", "Revoke"))
            {
                continue;
            }

            if (!TryCall(() => grain.RevokeAsync(id), "RemoveApiKeyFailed", id, out var revoked))
            {
                continue;
            }

            if (revoked is null)
            {
                WriteAuditError($"There is no valid API key with id '{Scope.Printable(id)}'.", "ApiKeyNotFound", ErrorCategory.ObjectNotFound, id,
                    "Run Get-AuditApiKey to list the keys and their ids.");
            }
            else if (PassThru)
            {
                WriteObject(AuditApiKey.From(revoked));
            }
            else
            {
                WriteVerbose($"Revoked API key {id}.");
            }
        }
    }
}
