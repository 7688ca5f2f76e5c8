namespace AuditOrleans.PowerShell;

/// <summary>
/// A webhook notification contact of a project; alerts go to the Security ones. Its URL is shown
/// only as far as the first path segment (a chat webhook's URL is a credential), its secret only
/// by fingerprint: the secret itself is shown once, when it is created or rotated.
/// </summary>
public sealed class AuditWebhookContact
{
    public required string ProjectId { get; init; }

    /// <summary>Webhook (email contacts are <see cref="AuditNotificationContact"/>, Kind Email).</summary>
    public string Kind => "Webhook";

    /// <summary>The format and shortened URL (what the contacts table shows for every kind).</summary>
    public string Target => $"{Format} {WebhookUrl}";

    /// <summary>The id (wh_...) that Remove-AuditNotificationContact and Reset-AuditNotificationContactSecret take.</summary>
    public required string WebhookId { get; init; }

    /// <summary>The URL as far as its first path segment.</summary>
    public required string WebhookUrl { get; init; }

    /// <summary>The body the webhook receives: Json, Slack or Teams.</summary>
    public required WebhookFormat Format { get; init; }

    /// <summary>The notification types the contact subscribes to.</summary>
    public required NotificationType[] Type { get; init; }

    /// <summary>sha256: and the first 12 hex digits of the SHA-256 of the secret's bytes, to tell secrets apart.</summary>
    public required string SecretFingerprint { get; init; }

    public DateTimeOffset SecretCreatedAt { get; init; }

    /// <summary>Until when the secret before the last rotation also signs; null when it no longer does.</summary>
    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The id: what the contact becomes where PowerShell wants text, e.g. piped to Remove-AuditNotificationContact.</summary>
    public override string ToString() => WebhookId;

    internal static AuditWebhookContact From(WebhookContact w) => new()
    {
        ProjectId = w.ProjectId,
        WebhookId = w.Id,
        WebhookUrl = w.DisplayUrl,
        Format = w.Format,
        SecretFingerprint = w.SecretFingerprint,
        SecretCreatedAt = w.SecretCreatedAt,
        PreviousSecretExpiresAt = w.PreviousSecretExpiresAt,
        Type = AuditNotificationContact.Types(w.Types),
        CreatedAt = w.CreatedAt,
    };
}
