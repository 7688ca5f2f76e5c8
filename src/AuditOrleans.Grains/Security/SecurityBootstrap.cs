using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Makes a fresh installation secure and usable at start, before the gateway accepts clients:
/// removes the internal call token that earlier versions kept in the database (the token is now
/// derived from the checkpoint key), then registers the Owner key of
/// <c>Security:BootstrapApiKey</c>, or, at first start without one, generates an Owner key and
/// writes it to <c>{DataDirectory}/owner.key</c> (mode 0600). Only the path and the key id are
/// logged, never the key.
/// </summary>
public sealed partial class SecurityBootstrap(
    ApiKeyStore store,
    IOptions<AuditOrleansOptions> options,
    TimeProvider time,
    ILogger<SecurityBootstrap> logger)
{
    public const string OwnerKeyFileName = "owner.key";

    /// <summary>The <c>security_settings</c> row where earlier versions kept the internal call token in plain text.</summary>
    public const string ObsoleteInternalTokenSetting = "internal-call-token";

    public string OwnerKeyPath => Path.GetFullPath(Path.Combine(options.Value.DataDirectory, OwnerKeyFileName));

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await store.DeleteSettingAsync(ObsoleteInternalTokenSetting, cancellationToken);

        var configured = options.Value.Security.BootstrapApiKey;
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var text = configured.Trim();
            if (!ApiKeySecret.TryParse(text, out var id))
            {
                throw new InvalidOperationException(
                    $"{AuditOrleansOptions.SectionName}:Security:BootstrapApiKey is not an API key: {ApiKeySecret.DescribeFormat()}.");
            }

            if (await RegisterOwnerAsync(id, text, "bootstrap key from configuration", cancellationToken))
            {
                LogRegisteredConfigured(logger, id);
            }

            return;
        }

        var path = OwnerKeyPath;
        if (File.Exists(path))
        {
            // A key file from an earlier start: make sure its key exists (e.g. after the database was recreated).
            var text = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
            if (ApiKeySecret.TryParse(text, out var existingId) && await store.CountAsync(cancellationToken) == 0
                && await RegisterOwnerAsync(existingId, text, "bootstrap key from owner.key", cancellationToken))
            {
                LogRegisteredFile(logger, existingId, path);
            }

            return;
        }

        if (await store.CountAsync(cancellationToken) > 0)
        {
            return;
        }

        var (newId, secret) = ApiKeySecret.Generate();
        PrivateFiles.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        try
        {
            SecretFile.Write(path, secret + Environment.NewLine);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another silo sharing this data directory wrote it first: use its key.
            return;
        }

        await RegisterOwnerAsync(newId, secret, "bootstrap key (owner.key)", cancellationToken);
        LogGenerated(logger, newId, path);
    }

    private async Task<bool> RegisterOwnerAsync(string id, string text, string description, CancellationToken cancellationToken)
    {
        var (salt, hash) = ApiKeySecret.Hash(text);
        var info = new ApiKeyInfo { Id = id, Role = ApiKeyRole.Owner, Description = description, CreatedAt = time.GetUtcNow() };
        return await store.InsertAsync(info, salt, hash, ApiKeySecret.Iterations, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Access control: generated the first Owner API key {KeyId} and wrote it to {Path} (readable by this user only). Use it to create other keys, then keep it safe or revoke it")]
    private static partial void LogGenerated(ILogger logger, string keyId, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Access control: registered Owner API key {KeyId} from Security:BootstrapApiKey")]
    private static partial void LogRegisteredConfigured(ILogger logger, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Access control: registered Owner API key {KeyId} from {Path}")]
    private static partial void LogRegisteredFile(ILogger logger, string keyId, string path);
}
