namespace AuditOrleans.PowerShell;

/// <summary>An API key as listed: its id, role and project, never its secret.</summary>
public sealed class AuditApiKey
{
    public required string Id { get; init; }

    public required ApiKeyRole Role { get; init; }

    /// <summary>The project the key is bound to; empty for Owner keys (all projects).</summary>
    public string? ProjectId { get; init; }

    public string? Description { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }

    public bool Revoked => RevokedAt is not null;

    internal static AuditApiKey From(ApiKeyInfo k) => new()
    {
        Id = k.Id,
        Role = k.Role,
        ProjectId = k.ProjectId,
        Description = k.Description,
        CreatedAt = k.CreatedAt,
        RevokedAt = k.RevokedAt,
    };
}

/// <summary>A key just created: <see cref="Secret"/> is shown this once and never stored by the silo.</summary>
public sealed class AuditApiKeySecret
{
    public required string Id { get; init; }

    public required ApiKeyRole Role { get; init; }

    public string? ProjectId { get; init; }

    public string? Description { get; init; }

    /// <summary>The key to give to Connect-AuditCluster -ApiKey or $env:AUDITORLEANS_API_KEY. Keep it in a secret store.</summary>
    public required string Secret { get; init; }

    internal static AuditApiKeySecret From(CreatedApiKey created) => new()
    {
        Id = created.Key.Id,
        Role = created.Key.Role,
        ProjectId = created.Key.ProjectId,
        Description = created.Key.Description,
        Secret = created.Secret,
    };
}
