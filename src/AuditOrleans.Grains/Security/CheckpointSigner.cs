using System.Security.Cryptography;
using System.Text;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Signs checkpoints with HMAC-SHA256, and retention anchors with HMAC-SHA256 under a key
/// derived from the same key. The key is <c>CheckpointKey</c> when set (clusters: the same on
/// every silo), else <c>{DataDirectory}/checkpoint.key</c> (created at first use, mode 0600);
/// either way it is kept outside the database so that whoever can rewrite the database can
/// neither re-sign a rewritten chain nor make deleted events look purged by retention.
/// </summary>
public sealed class CheckpointSigner(IOptions<AuditOrleansOptions> options)
{
    private readonly Lazy<byte[]> key = new(() => options.Value.CheckpointKey is { Length: > 0 } configured
        ? Convert.FromHexString(configured.Trim())
        : LoadOrCreateKey(Path.Combine(options.Value.DataDirectory, "checkpoint.key")));

    private byte[]? anchorKey;

    public string Sign(string text) => Convert.ToHexStringLower(HMACSHA256.HashData(key.Value, Encoding.UTF8.GetBytes(text)));

    public bool Verify(string text, string signature) => SameSignature(Sign(text), signature);

    /// <summary>Signs a retention anchor's text (<see cref="AuditLog.ChainSignatures.AnchorText"/>).</summary>
    public string SignAnchor(string text) => Convert.ToHexStringLower(HMACSHA256.HashData(AnchorKey, Encoding.UTF8.GetBytes(text)));

    public bool VerifyAnchor(string text, string signature) => SameSignature(SignAnchor(text), signature);

    private byte[] AnchorKey => anchorKey ??= DeriveKey("AuditOrleans retention anchor v1");

    private static bool SameSignature(string expected, string actual) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(actual));

    /// <summary>
    /// A key for another purpose derived from the installation's checkpoint key (HKDF-SHA256),
    /// e.g. to encrypt the console's key ring at rest: like the checkpoint key, it never lives in
    /// the database, and every silo of a cluster derives the same one.
    /// </summary>
    public byte[] DeriveKey(string purpose, int length = 32) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Value, length, salt: null, info: Encoding.UTF8.GetBytes(purpose));

    private static byte[] LoadOrCreateKey(string path)
    {
        if (File.Exists(path))
        {
            return Convert.FromHexString(File.ReadAllText(path).Trim());
        }

        PrivateFiles.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var bytes = RandomNumberGenerator.GetBytes(32);
        SecretFile.Write(path, Convert.ToHexStringLower(bytes));
        return bytes;
    }
}
