using Orleans.Configuration;
using Orleans.Hosting;

namespace AuditOrleans;

/// <summary>
/// Whether a connected client knows the cluster's grains yet (docs/architecture.md, Clients).
/// An Orleans client asks its gateway which grain types the cluster serves when it connects, and
/// again every <see cref="TypeManagementOptions.TypeMapRefreshInterval"/> (a minute by default).
/// A gateway asked while its own silo is not yet listed as active answers without that silo's
/// grains, and every call then fails with "Could not find an implementation for interface" until
/// the next refresh: seen on a test silo whose membership was slow to list it. Clients here refresh every
/// <see cref="RefreshInterval"/> and wait for the grains once after connecting.
/// </summary>
public static class ClusterGrainTypes
{
    /// <summary>How often a client asks again; a gateway answers "nothing new" cheaply.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    /// <summary>Makes the client refresh its list of the cluster's grains every <see cref="RefreshInterval"/>.</summary>
    public static IClientBuilder RefreshGrainTypesOften(this IClientBuilder client) =>
        client.Configure<TypeManagementOptions>(static o => o.TypeMapRefreshInterval = RefreshInterval);

    /// <summary>True once the client can address the AuditOrleans grains (no call is made).</summary>
    public static bool AreKnown(IGrainFactory grains)
    {
        try
        {
            grains.GetGrain<IIngestGrain>(0);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// Waits until the client can address the AuditOrleans grains, at most <paramref name="timeout"/>.
    /// False: the cluster behind the gateway did not list them (not an AuditOrleans silo, or still starting).
    /// </summary>
    public static async Task<bool> WaitAsync(IGrainFactory grains, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + timeout;
        while (!AreKnown(grains))
        {
            if (DateTime.UtcNow >= until)
            {
                return false;
            }

            await Task.Delay(Poll, cancellationToken);
        }

        return true;
    }
}
