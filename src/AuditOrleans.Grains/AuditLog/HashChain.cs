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

    /// <summary>Bytes hashed from the stack; longer input is hashed from a pooled buffer.</summary>
    private const int StackBytes = 1024;

    /// <summary>
    /// The record's hash: SHA-256 of the UTF-8 of <c>projectId \n region \n sequence \n
    /// previousHash \n payload</c> (the sequence in invariant digits), as 64 lowercase hex digits.
    /// The parts are encoded one after the other into one buffer: no joined string and no byte
    /// array per record (each record of the ingestion path is hashed once). A newline separates
    /// every two parts, so encoding them apart gives the bytes of the joined text.
    /// </summary>
    public static string Compute(string projectId, string region, long sequence, string previousHash, string payload)
    {
        var utf8 = Encoding.UTF8;
        var most = utf8.GetMaxByteCount(projectId.Length + region.Length + previousHash.Length + payload.Length) + 20 + 4;
        byte[]? rented = null;
        Span<byte> bytes = most <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(most));
        try
        {
            var n = utf8.GetBytes(projectId, bytes);
            bytes[n++] = (byte)'\n';
            n += utf8.GetBytes(region, bytes[n..]);
            bytes[n++] = (byte)'\n';
            sequence.TryFormat(bytes[n..], out var digits, default, System.Globalization.CultureInfo.InvariantCulture);
            n += digits;
            bytes[n++] = (byte)'\n';
            n += utf8.GetBytes(previousHash, bytes[n..]);
            bytes[n++] = (byte)'\n';
            n += utf8.GetBytes(payload, bytes[n..]);
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(bytes[..n], digest);
            return Convert.ToHexStringLower(digest);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
