using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AuditOrleans.Testing;

/// <summary>
/// What a receiver does with a webhook request, written from the README's recipe (docs/webhooks.md,
/// Verifying a request) and not from the silo's code: reject a timestamp more than five minutes
/// away from its own clock, compute HMAC-SHA256 keyed with the base64-decoded part of the secret
/// after <c>whsec_</c> over <c>{webhook-id}.{webhook-timestamp}.{body}</c>, and accept when any
/// <c>v1,</c> signature of the header matches in constant time.
/// </summary>
public static class WebhookVerifier
{
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    /// <summary>Null when the request is genuine and fresh; otherwise why it is rejected.</summary>
    public static string? Reject(string secret, string? id, string? timestamp, string? signatures, byte[] body, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(body);
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signatures))
        {
            return "missing webhook-id, webhook-timestamp or webhook-signature";
        }

        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return "bad timestamp";
        }

        if ((now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > Tolerance)
        {
            return "timestamp outside the tolerance (replayed or delayed)";
        }

        var key = Convert.FromBase64String(secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret[6..] : secret);
        var signed = Encoding.UTF8.GetBytes($"{id}.{timestamp}.").Concat(body).ToArray();
        var expected = Encoding.ASCII.GetBytes(Convert.ToBase64String(HMACSHA256.HashData(key, signed)));
        foreach (var part in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith("v1,", StringComparison.Ordinal) && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(part[3..]), expected))
            {
                return null;
            }
        }

        return "no signature matches";
    }
}
