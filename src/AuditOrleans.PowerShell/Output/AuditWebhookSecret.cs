namespace AuditOrleans.PowerShell;

/// <summary>
/// A webhook contact's new signing secret: shown this once, when the contact is created or its
/// secret is rotated. The silo keeps it sealed and nobody can read it back; give it to the
/// receiver, which verifies every request with it (docs/webhooks.md).
/// </summary>
public sealed class AuditWebhookSecret
{
    public required string ProjectId { get; init; }

    public required string WebhookId { get; init; }

    public required string WebhookUrl { get; init; }

    public required WebhookFormat Format { get; init; }

    public required NotificationType[] Type { get; init; }

    /// <summary>whsec_ and the base64 of 32 random bytes: the HMAC key is the decoded part after whsec_.</summary>
    public required string Secret { get; init; }

    public required string SecretFingerprint { get; init; }

    /// <summary>Until when the previous secret also signs (after a rotation with a grace period).</summary>
    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }

    internal static AuditWebhookSecret From(WebhookSecretIssued issued) => new()
    {
        ProjectId = issued.Contact.ProjectId,
        WebhookId = issued.Contact.Id,
        WebhookUrl = issued.Contact.DisplayUrl,
        Format = issued.Contact.Format,
        Type = AuditNotificationContact.Types(issued.Contact.Types),
        Secret = issued.Secret ?? "",
        SecretFingerprint = issued.Contact.SecretFingerprint,
        PreviousSecretExpiresAt = issued.Contact.PreviousSecretExpiresAt,
    };
}
