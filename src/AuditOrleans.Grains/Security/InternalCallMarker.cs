using System.Security.Cryptography;
using System.Text;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Adds the internal token to every call the silo makes to a grain (from a grain, or from
/// outside any grain through its hosted client), for the duration of that call only: the
/// token is never in a request context that could reach a client.
/// </summary>
public sealed class InternalCallMarker(InternalCallToken token) : IOutgoingGrainCallFilter
{
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (AccessControlFilter.IsFromClient(context.TargetId))
        {
            await context.Invoke();
            return;
        }

        RequestContext.Set(InternalCallToken.RequestContextKey, token.Value);
        try
        {
            await context.Invoke();
        }
        finally
        {
            RequestContext.Remove(InternalCallToken.RequestContextKey);
        }
    }
}
