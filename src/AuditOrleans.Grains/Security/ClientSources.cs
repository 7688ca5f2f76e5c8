using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Session;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// The address each connected external client came from, as the gateway saw its connection:
/// the source that failed sign-in attempts are counted against (<see cref="FailedAuthThrottle"/>).
/// </summary>
public sealed class ClientSources
{
    public interface ISource
    {
        string Remote { get; }
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<GrainId, ISource> byClient = new();

    public void Add(GrainId client, ISource source) => byClient[client] = source;

    public void Remove(GrainId client, ISource source) =>
        byClient.TryRemove(new KeyValuePair<GrainId, ISource>(client, source));

    /// <summary>The remote address of a connected client, or "unknown" (a silo's own calls, a client on another silo's gateway).</summary>
    public string Of(GrainId? client) => client is { } id && byClient.TryGetValue(id, out var source) ? source.Remote : "unknown";
}
