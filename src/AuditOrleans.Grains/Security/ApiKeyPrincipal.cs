using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Security;

/// <summary>Who is calling: a valid API key's id, role and project (null project for Owner keys).</summary>
public sealed record ApiKeyPrincipal(string KeyId, ApiKeyRole Role, string? ProjectId)
{
    public bool Has(Permission permission) => RolePermissions.Grants(Role, permission);

    /// <summary>True when the key may act on <paramref name="projectId"/>: Owner keys on every project, the others on their own.</summary>
    public bool CoversProject(string? projectId) => Role == ApiKeyRole.Owner || (projectId is not null && string.Equals(ProjectId, projectId, StringComparison.Ordinal));
}
