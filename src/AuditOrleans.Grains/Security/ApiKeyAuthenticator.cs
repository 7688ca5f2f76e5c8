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

/// <summary>Why a call was refused, or that it may proceed.</summary>
public enum AccessDecision
{
    Allowed,
    NoKey,
    InvalidKey,
    MissingPermission,
    OtherProject,
}

/// <summary>
/// Validates presented API keys for the silo's access control, the web console's sign-in and
/// <c>/metrics</c> bearer tokens. A key is looked up by its id and its secret checked against
/// the stored salted PBKDF2 hash in constant time. Results (valid or not) are cached for
/// <c>Security:KeyCacheSeconds</c> under a SHA-256 digest of the presented text, so the hot
/// ingestion path costs a dictionary lookup; revoking a key evicts it on this silo at once and
/// on the other silos when their cache entry expires.
/// </summary>
public sealed class ApiKeyAuthenticator(ApiKeyStore store, IOptions<AuditOrleansOptions> options, TimeProvider time)
{
    /// <summary>Past this many cached results the cache starts over (bounds memory under a flood of random keys).</summary>
    public const int MaxCacheEntries = 10_000;

    private readonly ConcurrentDictionary<string, CacheEntry> cache = new(StringComparer.Ordinal);

    private TimeSpan CacheLifetime => TimeSpan.FromSeconds(Math.Max(0, options.Value.Security.KeyCacheSeconds));

    /// <summary>The principal of a presented key, or null when it is absent, malformed, unknown or revoked.</summary>
    public async ValueTask<ApiKeyPrincipal?> AuthenticateAsync(string? presented, CancellationToken cancellationToken = default)
    {
        if (!ApiKeySecret.TryParse(presented, out var id))
        {
            return null;
        }

        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(presented!)));
        var now = time.GetUtcNow();
        if (cache.TryGetValue(digest, out var cached) && cached.ExpiresAt > now)
        {
            return cached.Principal;
        }

        var stored = await store.GetAsync(id, cancellationToken);
        ApiKeyPrincipal? principal = null;
        if (stored is { Info.IsRevoked: false } && ApiKeySecret.Verify(presented!, stored.Salt, stored.Hash, stored.Iterations))
        {
            principal = new ApiKeyPrincipal(stored.Info.Id, stored.Info.Role, stored.Info.ProjectId);
        }

        if (CacheLifetime > TimeSpan.Zero)
        {
            if (cache.Count >= MaxCacheEntries)
            {
                cache.Clear();
            }

            cache[digest] = new CacheEntry(principal, id, now + CacheLifetime);
        }

        return principal;
    }

    /// <summary>Checks a principal against the permission a call needs and the project it targets (null: the call names no single project).</summary>
    public static AccessDecision Decide(ApiKeyPrincipal? principal, Permission permission, string? projectId, bool projectChecked = true)
    {
        if (principal is null)
        {
            return AccessDecision.InvalidKey;
        }

        if (!principal.Has(permission))
        {
            return AccessDecision.MissingPermission;
        }

        return projectChecked && !principal.CoversProject(projectId) ? AccessDecision.OtherProject : AccessDecision.Allowed;
    }

    /// <summary>Forgets every cached result for a key id (after it was revoked or created).</summary>
    public void Evict(string keyId)
    {
        foreach (var (digest, entry) in cache)
        {
            if (entry.KeyId == keyId)
            {
                cache.TryRemove(digest, out _);
            }
        }
    }

    private sealed record CacheEntry(ApiKeyPrincipal? Principal, string KeyId, DateTimeOffset ExpiresAt);
}
