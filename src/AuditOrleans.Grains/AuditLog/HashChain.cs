using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// The hash chain of a project-region's log: each record's hash covers its position, the
/// previous record's hash and the event's canonical JSON, so an edited, deleted or reordered
/// record breaks every hash after it.
/// </summary>
public static class HashChain
{
    /// <summary>The previous hash of the first record of a chain.</summary>
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    public static string Compute(string projectId, string region, long sequence, string previousHash, string payload)
    {
        var text = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{projectId}\n{region}\n{sequence}\n{previousHash}\n{payload}");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}
