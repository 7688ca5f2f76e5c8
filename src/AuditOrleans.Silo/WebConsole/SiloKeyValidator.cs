using System.Buffers.Text;
using System.Security.Cryptography;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// The silo's own key validation (salted hashes in the database, shared with the grain call
/// filter); failed checks count against the request's remote address.
/// </summary>
public sealed class SiloKeyValidator(ApiKeyAuthenticator authenticator, IHttpContextAccessor http) : IConsoleKeyValidator
{
    public async Task<ConsoleUser?> ValidateAsync(string apiKey, CancellationToken cancellationToken) =>
        await authenticator.AuthenticateAsync(apiKey, "http " + (http.HttpContext?.Connection.RemoteIpAddress?.ToString() ?? "unknown"), cancellationToken) is { } principal
            ? new ConsoleUser(principal.KeyId, principal.Role, principal.ProjectId)
            : null;
}
