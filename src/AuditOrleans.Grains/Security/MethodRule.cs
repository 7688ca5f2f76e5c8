using System.Reflection;

namespace AuditOrleans.Grains.Security;

/// <summary>What a grain method needs: one permission, and where its project comes from.</summary>
public sealed record MethodRule(Permission Permission, ProjectSource Project);
