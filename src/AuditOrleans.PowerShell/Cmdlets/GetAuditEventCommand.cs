using System.Management.Automation;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Gets stored audit events of a project: who did what, when, from where. Newest first unless
/// -Oldest; follows the pages of the result until -First events or the end.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AuditEvent")]
[OutputType(typeof(AuditEventEntry))]
public sealed class GetAuditEventCommand : AuditEventQueryCommand
{
    protected override void EndProcessing()
    {
        foreach (var record in Query())
        {
            WriteObject(AuditEventEntry.From(record));
        }
    }
}
