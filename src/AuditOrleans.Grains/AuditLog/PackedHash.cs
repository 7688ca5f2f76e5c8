using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// A chain hash in 32 bytes instead of its 64-character hex string, for what is held per
/// project-region in memory (a detector's chain head). Only the canonical form, 64 lowercase
/// hex digits as <see cref="HashChain.Compute"/> writes them, is packed, so that
/// <see cref="ToString"/> gives back exactly the string that was packed.
/// </summary>
public readonly struct PackedHash
{
    private const int Bytes = 32;

    private static readonly SearchValues<char> LowerHexDigits = SearchValues.Create("0123456789abcdef");

    private readonly ulong p0;
    private readonly ulong p1;
    private readonly ulong p2;
    private readonly ulong p3;

    private PackedHash(ReadOnlySpan<byte> bytes)
    {
        p0 = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        p1 = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        p2 = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        p3 = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    /// <summary>Packs a canonical hash; false (and default) for anything else.</summary>
    public static bool TryPack(string hex, out PackedHash packed)
    {
        packed = default;
        if (hex.Length != Bytes * 2 || hex.AsSpan().ContainsAnyExcept(LowerHexDigits))
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[Bytes];
        Convert.FromHexString(hex, bytes, out _, out _);
        packed = new PackedHash(bytes);
        return true;
    }

    /// <summary>The hash as 64 lowercase hex digits.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Bytes];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, p0);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], p1);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[16..], p2);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[24..], p3);
        return Convert.ToHexStringLower(bytes);
    }
}
