using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace AuditOrleans.Grains.Security;

/// <summary>Creates, lists and revokes API keys; the access control filter lets only Owner keys in.</summary>
[StatelessWorker]
public sealed partial class ApiKeyGrain(
    ApiKeyStore store,
    ApiKeyAuthenticator authenticator,
    TimeProvider time,
    ILogger<ApiKeyGrain> logger) : Grain, IApiKeyGrain
{
    public const int MaxDescriptionLength = 256;

    public async Task<CreatedApiKey> CreateAsync(ApiKeyRole role, string? projectId, string? description)
    {
        if (!Enum.IsDefined(role))
        {
            throw new ArgumentException($"'{role}' is not a role. Valid roles: {string.Join(", ", Enum.GetNames<ApiKeyRole>())}.", nameof(role));
        }

        projectId = string.IsNullOrWhiteSpace(projectId) ? null : projectId.Trim();
        if (role == ApiKeyRole.Owner && projectId is not null)
        {
            throw new ArgumentException("Owner keys cover every project: leave the project out, or choose AlertsManager, ReadOnly or EventWriter for a key bound to one project.", nameof(projectId));
        }

        if (RolePermissions.IsProjectScoped(role))
        {
            if (projectId is null)
            {
                throw new ArgumentException($"A {role} key is bound to one project: give its project id.", nameof(projectId));
            }

            if (!Scope.IsValidProjectId(projectId))
            {
                throw new ArgumentException(Scope.DescribeProjectIdRule(projectId), nameof(projectId));
            }
        }

        description = string.IsNullOrWhiteSpace(description) ? null : description.Trim();
        if (description is { Length: > MaxDescriptionLength })
        {
            throw new ArgumentException($"The description is {description.Length} characters long; at most {MaxDescriptionLength} are accepted.", nameof(description));
        }

        if (description is not null && description.Any(char.IsControl))
        {
            throw new ArgumentException("The description contains control characters: use printable text.", nameof(description));
        }

        var (id, secret) = ApiKeySecret.Generate();
        var (salt, hash) = ApiKeySecret.Hash(secret);
        var info = new ApiKeyInfo { Id = id, Role = role, ProjectId = projectId, Description = description, CreatedAt = time.GetUtcNow() };
        if (!await store.InsertAsync(info, salt, hash, ApiKeySecret.Iterations))
        {
            throw new InvalidOperationException("A key with the same id was created at the same moment; create the key again.");
        }

        authenticator.Evict(id);
        LogCreated(logger, id, role, projectId ?? "*", CallerContext.Principal?.KeyId ?? "silo");
        return new CreatedApiKey(info, secret);
    }

    public Task<IReadOnlyList<ApiKeyInfo>> ListAsync(bool includeRevoked) => store.ListAsync(includeRevoked);

    public async Task<ApiKeyInfo?> RevokeAsync(string keyId)
    {
        if (string.IsNullOrWhiteSpace(keyId) || keyId.Length > 64 || keyId.Any(char.IsControl))
        {
            throw new ArgumentException($"'{Scope.Printable(keyId)}' is not an API key id: give the Id shown by Get-AuditApiKey (16 hex digits).", nameof(keyId));
        }

        var id = keyId.Trim();
        if (ApiKeySecret.TryParse(id, out var fromSecret))
        {
            id = fromSecret;
        }

        var revoked = await store.RevokeAsync(id, time.GetUtcNow());
        authenticator.Evict(id);
        if (revoked is not null)
        {
            LogRevoked(logger, id, CallerContext.Principal?.KeyId ?? "silo");
        }

        return revoked;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "API key {KeyId} created: role {Role}, project {ProjectId}, by key {By}")]
    private static partial void LogCreated(ILogger logger, string keyId, ApiKeyRole role, string projectId, string by);

    [LoggerMessage(Level = LogLevel.Information, Message = "API key {KeyId} revoked by key {By}")]
    private static partial void LogRevoked(ILogger logger, string keyId, string by);
}
