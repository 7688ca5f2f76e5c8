using System.Management.Automation;
using AuditOrleans.PowerShell.Client;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>Closes the session's connection to the cluster.</summary>
[Cmdlet(VerbsCommunications.Disconnect, "AuditCluster")]
public sealed class DisconnectAuditClusterCommand : AuditCmdlet
{
    protected override void EndProcessing()
    {
        if (AuditSession.Remove() is not { } connection)
        {
            WriteVerbose("This session was not connected.");
            return;
        }

        Await(connection.DisposeAsync().AsTask());
        WriteVerbose($"Disconnected from {connection.GatewayList}.");
    }
}
