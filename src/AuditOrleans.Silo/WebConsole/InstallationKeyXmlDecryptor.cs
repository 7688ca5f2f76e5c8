using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using AuditOrleans.Grains;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using AuditOrleans.Grains.Security;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>Opens what <see cref="InstallationKeyXmlEncryptor"/> sealed (created by data protection through its IServiceProvider constructor).</summary>
public sealed class InstallationKeyXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        ArgumentNullException.ThrowIfNull(encryptedElement);
        var sealedBytes = Convert.FromBase64String((string?)encryptedElement.Element("value")
            ?? throw new CryptographicException("A console key in the database has no encrypted value."));
        if (sealedBytes.Length < InstallationKeyXmlEncryptor.NonceSize + InstallationKeyXmlEncryptor.TagSize)
        {
            throw new CryptographicException("A console key in the database is too short to be one this installation encrypted.");
        }

        var signer = (CheckpointSigner?)services.GetService(typeof(CheckpointSigner))
            ?? throw new InvalidOperationException("The checkpoint key service is not registered.");
        var plain = new byte[sealedBytes.Length - InstallationKeyXmlEncryptor.NonceSize - InstallationKeyXmlEncryptor.TagSize];
        using (var aes = new AesGcm(signer.DeriveKey(InstallationKeyXmlEncryptor.Purpose), InstallationKeyXmlEncryptor.TagSize))
        {
            try
            {
                aes.Decrypt(
                    sealedBytes.AsSpan(0, InstallationKeyXmlEncryptor.NonceSize),
                    sealedBytes.AsSpan(InstallationKeyXmlEncryptor.NonceSize + InstallationKeyXmlEncryptor.TagSize),
                    sealedBytes.AsSpan(InstallationKeyXmlEncryptor.NonceSize, InstallationKeyXmlEncryptor.TagSize),
                    plain);
            }
            catch (AuthenticationTagMismatchException ex)
            {
                throw new CryptographicException(
                    "A console key in the database was encrypted with another checkpoint key: give every silo the same AuditOrleans:CheckpointKey. Console sessions signed with it cannot be opened.",
                    ex);
            }
        }

        try
        {
            return XElement.Parse(Encoding.UTF8.GetString(plain));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }
}
