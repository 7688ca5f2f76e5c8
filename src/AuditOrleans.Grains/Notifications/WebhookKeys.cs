using System.Security.Cryptography;
using System.Text;
using AuditOrleans.Grains.Security;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// The keys of webhook contacts (docs/security.md, Webhook secrets): signing secrets in the
/// Standard Webhooks form (<c>whsec_</c> and the base64 of 32 random bytes), sealed in the
/// database with AES-256-GCM under a key derived (HKDF) from the installation key and bound to
/// the contact's id and the column, and contact ids computed as an HMAC of the project and the
/// URL under another derived key. Whoever reads or copies the database without the
/// installation key can neither sign a request, nor read a URL, nor confirm a guessed one.
/// </summary>
public sealed class WebhookKeys(CheckpointSigner installationKey)
{
    public const string SecretPrefix = "whsec_";

    internal const string SealPurpose = "AuditOrleans.Webhooks.Seal.v1";

    internal const string IdPurpose = "AuditOrleans.Webhooks.ContactId.v1";

    private const int NonceSize = 12;

    private const int TagSize = 16;

    private readonly Lazy<byte[]> sealKey = new(() => installationKey.DeriveKey(SealPurpose));

    private readonly Lazy<byte[]> idKey = new(() => installationKey.DeriveKey(IdPurpose));

    /// <summary>A new signing secret: whsec_ and the base64 of 32 random bytes.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The bytes an HMAC is keyed with: the base64 after whsec_.</summary>
    public static byte[] SecretBytes(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Convert.FromBase64String(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret);
    }

    /// <summary>A short public name of a secret (the first 12 hex digits of its SHA-256), to tell secrets apart without revealing them.</summary>
    public static string Fingerprint(string secret) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(SecretBytes(secret)))[..12];

    /// <summary>The id of the webhook contact of <paramref name="projectId"/> with this (normalised) URL.</summary>
    public string ContactId(string projectId, string url)
    {
        var mac = HMACSHA256.HashData(idKey.Value, Encoding.UTF8.GetBytes(projectId + "\n" + url));
        return WebhookSecretLimits.IdPrefix + Convert.ToHexStringLower(mac)[..24];
    }

    /// <summary>Seals a value of one column of one contact: base64 of nonce, tag and ciphertext.</summary>
    public string Seal(string plain, string contactId, string column)
    {
        var bytes = Encoding.UTF8.GetBytes(plain);
        var output = new byte[NonceSize + TagSize + bytes.Length];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(sealKey.Value, TagSize))
        {
            aes.Encrypt(nonce, bytes, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize), Associated(contactId, column));
        }

        CryptographicOperations.ZeroMemory(bytes);
        return Convert.ToBase64String(output);
    }

    /// <summary>Opens a sealed value; throws <see cref="CryptographicException"/> when it was sealed for another row or column, or under another installation key.</summary>
    public string Open(string sealedValue, string contactId, string column)
    {
        var input = Convert.FromBase64String(sealedValue);
        if (input.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("The sealed value is too short.");
        }

        var plain = new byte[input.Length - NonceSize - TagSize];
        using (var aes = new AesGcm(sealKey.Value, TagSize))
        {
            aes.Decrypt(input.AsSpan(0, NonceSize), input.AsSpan(NonceSize + TagSize), input.AsSpan(NonceSize, TagSize), plain, Associated(contactId, column));
        }

        return Encoding.UTF8.GetString(plain);
    }

    private static byte[] Associated(string contactId, string column) => Encoding.UTF8.GetBytes($"notification_webhooks/{contactId}/{column}");
}
