using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using AuditOrleans.Grains;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using AuditOrleans.Grains.Security;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// Encrypts the console's data-protection keys before they are stored in the database (AES-GCM
/// with a key derived from the installation's checkpoint key, which is kept outside the
/// database): reading the <c>console_keys</c> table is not enough to open session cookies.
/// </summary>
public sealed class InstallationKeyXmlEncryptor(CheckpointSigner installationKey) : IXmlEncryptor
{
    internal const string Purpose = "AuditOrleans.Console.KeyRing.v1";
    internal const int NonceSize = 12;
    internal const int TagSize = 16;

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        ArgumentNullException.ThrowIfNull(plaintextElement);
        var plain = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var sealedBytes = new byte[NonceSize + TagSize + plain.Length];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(installationKey.DeriveKey(Purpose), TagSize))
        {
            aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize));
        }

        CryptographicOperations.ZeroMemory(plain);
        var element = new XElement(
            "encryptedKey",
            new XComment(" AES-256-GCM with a key derived from the installation's checkpoint key (CheckpointKey or data/checkpoint.key) "),
            new XElement("value", Convert.ToBase64String(sealedBytes)));
        return new EncryptedXmlInfo(element, typeof(InstallationKeyXmlDecryptor));
    }
}
