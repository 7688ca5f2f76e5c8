using System.Buffers.Text;
using System.Security.Cryptography;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// Checks an API key presented to the console or to <c>/metrics</c>. The silo's key store is the
/// single authority: the console never keeps its own list of keys.
/// </summary>
public interface IConsoleKeyValidator
{
    /// <summary>
    /// The key's user, or null when the key is unknown, revoked or malformed. Throws
    /// <see cref="AccessDeniedException"/> when too many checks failed from the request's
    /// address or for the key id.
    /// </summary>
    Task<ConsoleUser?> ValidateAsync(string apiKey, CancellationToken cancellationToken);
}
