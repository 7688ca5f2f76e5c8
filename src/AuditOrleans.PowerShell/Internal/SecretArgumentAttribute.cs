using System.Management.Automation;
using System.Net;
using System.Security;

namespace AuditOrleans.PowerShell.Internal;

/// <summary>
/// Lets a [SecureString] parameter take what users hold secrets in: a SecureString (Get-Secret,
/// Read-Host -AsSecureString), a PSCredential (its password), or, for compatibility with
/// scripts written before, plain text. An empty value is refused.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class SecretArgumentAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = PSValues.Unwrap(inputData);
        var secret = value switch
        {
            SecureString s => s,
            PSCredential credential => credential.Password,
            string text => FromText(text),
            _ => null,
        };
        if (secret is null)
        {
            return inputData;
        }

        if (secret.Length == 0)
        {
            throw new ArgumentTransformationMetadataException("The API key is empty: pass the key (a SecureString, e.g. from Get-Secret), or leave -ApiKey out to use $env:AUDITORLEANS_API_KEY.");
        }

        return secret;
    }

    /// <summary>The text of a secret, at the moment it is sent.</summary>
    internal static string Reveal(SecureString secret) => new NetworkCredential(string.Empty, secret).Password;

    private static SecureString FromText(string text)
    {
        var secret = new SecureString();
        foreach (var c in text.Trim())
        {
            secret.AppendChar(c);
        }

        secret.MakeReadOnly();
        return secret;
    }
}
