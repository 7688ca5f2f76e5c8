using System.Security.Cryptography;
using System.Text;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// The text form of an API key, <c>ao_&lt;id&gt;_&lt;secret&gt;</c>: a 16-character hex id (public,
/// used to find the key's row) and a random secret (base64url, 256 bits when generated here).
/// Only a PBKDF2-HMAC-SHA256 hash of the whole text is stored, with a per-key random salt.
/// </summary>
public static class ApiKeySecret
{
    public const string Prefix = "ao_";
    public const int IdLength = 16;
    public const int MinSecretLength = 20;
    public const int MaxSecretLength = 128;

    /// <summary>PBKDF2 work factor for new keys. The secrets are random (not passwords), so this
    /// mainly slows offline guessing from a stolen database; the authenticator caches results.</summary>
    public const int Iterations = 20_000;

    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    /// <summary>A new random key: its id and its full text.</summary>
    public static (string Id, string Text) Generate()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdLength / 2));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (id, $"{Prefix}{id}_{secret}");
    }

    /// <summary>Splits a presented key; false for anything not of the form <c>ao_&lt;16 hex&gt;_&lt;secret&gt;</c>.</summary>
    public static bool TryParse(string? text, out string id)
    {
        id = "";
        if (text is null || text.Length < Prefix.Length + IdLength + 1 + MinSecretLength || text.Length > Prefix.Length + IdLength + 1 + MaxSecretLength
            || !text.StartsWith(Prefix, StringComparison.Ordinal) || text[Prefix.Length + IdLength] != '_')
        {
            return false;
        }

        var idPart = text.AsSpan(Prefix.Length, IdLength);
        foreach (var c in idPart)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        foreach (var c in text.AsSpan(Prefix.Length + IdLength + 1))
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return false;
            }
        }

        id = idPart.ToString();
        return true;
    }

    /// <summary>A hint on the expected form, for configuration errors.</summary>
    public static string DescribeFormat() =>
        $"an API key has the form {Prefix}<16 lower-case hex digits>_<{MinSecretLength} to {MaxSecretLength} letters, digits, '-' or '_'>, " +
        $"e.g. made with: echo \"{Prefix}$(openssl rand -hex 8)_$(openssl rand -hex 24)\"";

    public static (string Salt, string Hash) Hash(string text)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return (Convert.ToHexStringLower(salt), Convert.ToHexStringLower(Derive(text, salt, Iterations)));
    }

    /// <summary>Recomputes the hash of a presented key and compares it in constant time.</summary>
    public static bool Verify(string text, string saltHex, string hashHex, int iterations)
    {
        byte[] salt, expected;
        try
        {
            salt = Convert.FromHexString(saltHex);
            expected = Convert.FromHexString(hashHex);
        }
        catch (FormatException)
        {
            return false;
        }

        return expected.Length == HashBytes && CryptographicOperations.FixedTimeEquals(Derive(text, salt, iterations), expected);
    }

    private static byte[] Derive(string text, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(text), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
}
