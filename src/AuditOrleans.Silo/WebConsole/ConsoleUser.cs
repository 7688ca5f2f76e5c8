using System.Buffers.Text;
using System.Security.Cryptography;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>Who is using the console: the API key's id (never the secret), its role and its project.</summary>
/// <param name="KeyId">The key's public id, for display.</param>
/// <param name="Role">The key's role (docs/security.md, Who is trusted).</param>
/// <param name="ProjectId">The key's project; null for Owner keys (every project).</param>
public sealed record ConsoleUser(string KeyId, ApiKeyRole Role, string? ProjectId)
{
    /// <summary>The user of a console whose access control is switched off (Security:Enabled=false).</summary>
    public static ConsoleUser Open { get; } = new("security disabled", ApiKeyRole.Owner, null);

    /// <summary>True when the key's role grants <paramref name="permission"/> on <paramref name="projectId"/> (Owner keys: every project).</summary>
    public bool Can(Permission permission, string projectId) =>
        RolePermissions.Grants(Role, permission)
        && (Role == ApiKeyRole.Owner || string.Equals(ProjectId, projectId, StringComparison.Ordinal));

    /// <summary>The console shows events, alerts and history: keys that can only send events have nothing to see.</summary>
    public bool CanUseConsole => RolePermissions.Grants(Role, Permission.ViewAlerts);

    /// <summary>The cluster-wide metrics (event counts per region, no project ids): any key that may view events.</summary>
    public bool CanReadMetrics => RolePermissions.Grants(Role, Permission.ViewEvents);
}
