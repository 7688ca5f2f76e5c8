using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Validates presented API keys for the silo's access control, the web console's sign-in and
/// <c>/metrics</c> bearer tokens. A key is looked up by its id and its secret checked against
/// the stored salted PBKDF2 hash in constant time. Results (valid or not) are cached for
/// <c>Security:KeyCacheSeconds</c> under a SHA-256 digest of the presented text, so the hot
/// ingestion path costs a dictionary lookup; revoking a key evicts it on this silo at once and
/// on the other silos when their cache entry expires. An unknown key id costs the same PBKDF2
/// derivation as a wrong secret (nothing tells which key ids exist), and failed checks are
/// throttled per source and key id (<see cref="FailedAuthThrottle"/>).
/// </summary>
public sealed class ApiKeyAuthenticator(ApiKeyStore store, IOptions<AuditOrleansOptions> options, TimeProvider time, FailedAuthThrottle throttle)
{
    /// <summary>A salt and hash that no key matches, checked for unknown key ids so that they cost what a known one does.</summary>
    private static readonly (string Salt, string Hash) Decoy = ApiKeySecret.Hash("ao_0000000000000000_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)));

    /// <summary>Past this many cached results the cache starts over (bounds memory under a flood of random keys).</summary>
    public const int MaxCacheEntries = 10_000;

    private readonly ConcurrentDictionary<string, CacheEntry> cache = new(StringComparer.Ordinal);

    private TimeSpan CacheLifetime => TimeSpan.FromSeconds(options.Value.Security.KeyCacheSeconds);

    /// <summary>
    /// The principal of a presented key, or null when it is absent, malformed, unknown or revoked.
    /// <paramref name="source"/> is where the attempt came from as the silo established it (a
    /// client's address, the console's remote address); a failed check counts against it and
    /// against the key id, and once either is over its limit the check is refused unchecked with
    /// an <see cref="AccessDeniedException"/> that says for how long.
    /// </summary>
    public async ValueTask<ApiKeyPrincipal?> AuthenticateAsync(string? presented, string source, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return null;
        }

        var parsed = ApiKeySecret.TryParse(presented, out var id);
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
        var now = time.GetUtcNow();
        if (cache.TryGetValue(digest, out var cached) && cached.ExpiresAt > now && cached.Principal is not null)
        {
            return cached.Principal;
        }

        if (throttle.RetryAfter(source, parsed ? id : null) is { } wait)
        {
            throw new AccessDeniedException(
                $"Access denied: too many failed API-key checks from this address or for this key id; keys are not checked for the next {Math.Max(1, Math.Ceiling(wait.TotalSeconds))} s. " +
                "Check the key you are using (Connect-AuditCluster -ApiKey, $env:AUDITORLEANS_API_KEY) before trying again.");
        }

        if (!parsed)
        {
            throttle.Failed(source, null);
            return null;
        }

        if (cached is { Principal: null } && cached.ExpiresAt > now)
        {
            throttle.Failed(source, id);
            return null;
        }

        var stored = await store.GetAsync(id, cancellationToken);
        ApiKeyPrincipal? principal = null;
        if (stored is null)
        {
            ApiKeySecret.Verify(presented, Decoy.Salt, Decoy.Hash, ApiKeySecret.Iterations);
        }
        else if (ApiKeySecret.Verify(presented, stored.Salt, stored.Hash, stored.Iterations) && !stored.Info.IsRevoked)
        {
            principal = new ApiKeyPrincipal(stored.Info.Id, stored.Info.Role, stored.Info.ProjectId);
        }

        if (principal is null)
        {
            throttle.Failed(source, id);
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

    /// <summary>
    /// A cheap check that needs no secret derivation: the principal a key id would have if its
    /// secret were right (null for a malformed text, an unknown or revoked key). Used only to
    /// refuse activations early; the call itself is always checked in full.
    /// </summary>
    public async ValueTask<ApiKeyPrincipal?> PeekAsync(string? presented, CancellationToken cancellationToken = default)
    {
        if (!ApiKeySecret.TryParse(presented, out var id))
        {
            return null;
        }

        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(presented!)));
        if (cache.TryGetValue(digest, out var cached) && cached.ExpiresAt > time.GetUtcNow())
        {
            return cached.Principal;
        }

        var stored = await store.GetAsync(id, cancellationToken);
        return stored is { Info.IsRevoked: false } ? new ApiKeyPrincipal(stored.Info.Id, stored.Info.Role, stored.Info.ProjectId) : null;
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
