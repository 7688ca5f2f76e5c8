using System.Collections.Concurrent;
using System.Management.Automation.Runspaces;

namespace AuditOrleans.PowerShell.Client;

/// <summary>
/// The connection of each PowerShell runspace (a session, a job or a thread job has its own).
/// A connection is closed when its runspace closes.
/// </summary>
internal static class AuditSession
{
    private static readonly ConcurrentDictionary<Guid, AuditConnection> Connections = new();

    public static AuditConnection? Current =>
        Runspace.DefaultRunspace is { } runspace && Connections.TryGetValue(runspace.InstanceId, out var connection) && !connection.IsDisposed
            ? connection
            : null;

    /// <summary>Makes <paramref name="connection"/> the runspace's connection and returns the one it replaces.</summary>
    public static AuditConnection? Set(AuditConnection connection)
    {
        var runspace = Runspace.DefaultRunspace ?? throw new InvalidOperationException("Connect-AuditCluster must run in a PowerShell runspace.");
        AuditConnection? previous = null;
        Connections.AddOrUpdate(runspace.InstanceId, connection, (_, old) =>
        {
            previous = old;
            return connection;
        });
        if (previous is null)
        {
            runspace.StateChanged += OnRunspaceStateChanged;
        }

        return previous;
    }

    /// <summary>Forgets the runspace's connection and returns it (null when there was none).</summary>
    public static AuditConnection? Remove()
    {
        if (Runspace.DefaultRunspace is not { } runspace || !Connections.TryRemove(runspace.InstanceId, out var connection))
        {
            return null;
        }

        runspace.StateChanged -= OnRunspaceStateChanged;
        return connection;
    }

    private static void OnRunspaceStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (sender is not Runspace runspace || e.RunspaceStateInfo.State is not (RunspaceState.Closed or RunspaceState.Broken))
        {
            return;
        }

        runspace.StateChanged -= OnRunspaceStateChanged;
        if (Connections.TryRemove(runspace.InstanceId, out var connection))
        {
            // Nobody waits for a closing runspace: let the client stop in the background.
            _ = Task.Run(async () => await connection.DisposeAsync());
        }
    }
}
