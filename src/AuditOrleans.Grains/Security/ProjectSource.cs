using System.Reflection;

namespace AuditOrleans.Grains.Security;

/// <summary>How the project a call acts on is found.</summary>
public enum ProjectSource
{
    /// <summary>The call is not about one project (key management, engine internals).</summary>
    None,

    /// <summary>The grain key: <c>{projectId}/{region}</c> or the project id itself.</summary>
    GrainKey,

    /// <summary>The first argument: a project id, an <see cref="AuditQuery"/> or an <see cref="AlertHistoryQuery"/>.</summary>
    FirstArgument,

    /// <summary>Each event names its project: the ingest grain checks them one by one against the caller's key.</summary>
    PerEvent,
}
