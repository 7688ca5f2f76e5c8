namespace AuditOrleans;

/// <summary>What an API key may do (docs/security.md, Who is trusted). Names are a public contract.</summary>
public enum ApiKeyRole
{
    /// <summary>Everything, in every project, including key management.</summary>
    Owner = 1,

    /// <summary>View and manage the alerts and notification contacts of its project.</summary>
    AlertsManager = 2,

    /// <summary>View the alerts, contacts, events, alert history and log integrity of its project.</summary>
    ReadOnly = 3,

    /// <summary>Send events to its project, nothing else.</summary>
    EventWriter = 4,
}

/// <summary>One permission a grain method needs; roles grant sets of them (<see cref="RolePermissions"/>).</summary>
public enum Permission
{
    ViewAlerts = 1,
    ManageAlerts = 2,
    ViewContacts = 3,
    ManageContacts = 4,
    ViewEvents = 5,
    ViewAlertHistory = 6,
    VerifyIntegrity = 7,
    WriteEvents = 8,
    ManageApiKeys = 9,

    /// <summary>Engine-internal calls (detectors, outbox wake-up); only the silo itself and Owner keys.</summary>
    Internal = 10,
}

/// <summary>The permissions of each role.</summary>
public static class RolePermissions
{
    private static readonly IReadOnlyDictionary<ApiKeyRole, IReadOnlySet<Permission>> Map = new Dictionary<ApiKeyRole, IReadOnlySet<Permission>>
    {
        [ApiKeyRole.Owner] = new HashSet<Permission>(Enum.GetValues<Permission>()),
        [ApiKeyRole.AlertsManager] = new HashSet<Permission>
        {
            Permission.ViewAlerts, Permission.ManageAlerts, Permission.ViewContacts, Permission.ManageContacts, Permission.ViewAlertHistory,
        },
        [ApiKeyRole.ReadOnly] = new HashSet<Permission>
        {
            Permission.ViewAlerts, Permission.ViewContacts, Permission.ViewEvents, Permission.ViewAlertHistory, Permission.VerifyIntegrity,
        },
        [ApiKeyRole.EventWriter] = new HashSet<Permission> { Permission.WriteEvents },
    };

    /// <summary>The permissions granted by <paramref name="role"/> (none for an unknown value).</summary>
    public static IReadOnlySet<Permission> Of(ApiKeyRole role) => Map.TryGetValue(role, out var set) ? set : new HashSet<Permission>();

    public static bool Grants(ApiKeyRole role, Permission permission) => Of(role).Contains(permission);

    /// <summary>True when keys of this role are bound to one project (every role but Owner).</summary>
    public static bool IsProjectScoped(ApiKeyRole role) => role != ApiKeyRole.Owner;
}

/// <summary>Names shared by clients and the silo for carrying credentials.</summary>
public static class ApiKeyHeaders
{
    /// <summary>The Orleans <c>RequestContext</c> key under which clients send their API key.</summary>
    public const string RequestContextKey = "auditorleans-api-key";

    /// <summary>The environment variable the PowerShell module reads the key from when none is given.</summary>
    public const string EnvironmentVariable = "AUDITORLEANS_API_KEY";
}

/// <summary>An API key as listed: never its secret.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.ApiKeyInfo")]
public sealed record ApiKeyInfo
{
    /// <summary>Public identifier of the key (the part after <c>ao_</c> in the secret).</summary>
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required ApiKeyRole Role { get; init; }

    /// <summary>The project the key is bound to; null for Owner keys (all projects).</summary>
    [Id(2)] public string? ProjectId { get; init; }

    [Id(3)] public string? Description { get; init; }

    [Id(4)] public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the key was revoked; null while it is valid.</summary>
    [Id(5)] public DateTimeOffset? RevokedAt { get; init; }

    public bool IsRevoked => RevokedAt is not null;
}

/// <summary>A key just created: the only time its secret is ever returned.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.CreatedApiKey")]
public sealed record CreatedApiKey(
    [property: Id(0)] ApiKeyInfo Key,
    [property: Id(1)] string Secret);

/// <summary>API key management (Owner keys only). A stateless worker: call it with key 0.</summary>
[Alias("AuditOrleans.IApiKeyGrain")]
public interface IApiKeyGrain : IGrainWithIntegerKey
{
    /// <summary>Creates a key. The returned secret is shown once: only a salted hash is stored.</summary>
    /// <param name="role">The role of the new key.</param>
    /// <param name="projectId">The project of the key; required for every role but Owner, refused for Owner.</param>
    /// <param name="description">Free text to recognise the key later (at most 256 printable characters).</param>
    [Alias("CreateAsync")]
    Task<CreatedApiKey> CreateAsync(ApiKeyRole role, string? projectId, string? description);

    /// <summary>The keys, newest first; revoked ones only when asked.</summary>
    [Alias("ListAsync")]
    Task<IReadOnlyList<ApiKeyInfo>> ListAsync(bool includeRevoked);

    /// <summary>Revokes a key at once on the silo that runs the call, and within the key cache lifetime on the others; null when no valid key has that id.</summary>
    [Alias("RevokeAsync")]
    Task<ApiKeyInfo?> RevokeAsync(string keyId);
}

/// <summary>
/// A call was refused by the silo's access control: no key, an unknown or revoked key, a role
/// without the permission, or a project the key is not bound to. The message names the missing
/// permission and never says whether another project exists. The PowerShell module reports it
/// with the PermissionDenied category.
/// </summary>
[GenerateSerializer]
[Alias("AuditOrleans.AccessDeniedException")]
public sealed class AccessDeniedException : UnauthorizedAccessException
{
    public AccessDeniedException()
    {
    }

    public AccessDeniedException(string message)
        : base(message)
    {
    }

    public AccessDeniedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public AccessDeniedException(Permission permission, string message)
        : base(message) => Permission = permission;

    /// <summary>The permission the call needed.</summary>
    [Id(0)] public Permission? Permission { get; init; }
}

/// <summary>The caller's API key sent more events than its rate allows; retry after <see cref="RetryAfter"/>.</summary>
[GenerateSerializer]
[Alias("AuditOrleans.RateLimitExceededException")]
public sealed class RateLimitExceededException : Exception
{
    public RateLimitExceededException()
    {
    }

    public RateLimitExceededException(string message)
        : base(message)
    {
    }

    public RateLimitExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RateLimitExceededException(string message, TimeSpan retryAfter)
        : base(message) => RetryAfter = retryAfter;

    /// <summary>How long to wait before the batch fits in the key's budget.</summary>
    [Id(0)] public TimeSpan RetryAfter { get; init; }
}
