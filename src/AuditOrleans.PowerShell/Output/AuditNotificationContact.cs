namespace AuditOrleans.PowerShell;

/// <summary>
/// A notification contact of a project, an email address or a webhook endpoint; alerts go to
/// the Security ones. A webhook shows its URL only as far as the first path segment, and its
/// secret only by fingerprint: the secret itself is shown once, when it is created or rotated.
/// </summary>
public sealed class AuditNotificationContact
{
    public required string ProjectId { get; init; }

    /// <summary>Email or Webhook.</summary>
    public required string Kind { get; init; }

    /// <summary>The email address, or the webhook's format and shortened URL.</summary>
    public required string Target { get; init; }

    /// <summary>The address of an email contact; null for a webhook.</summary>
    public string? Email { get; init; }

    /// <summary>The id of a webhook contact (wh_...), which Remove-AuditNotificationContact and Reset-AuditNotificationContactSecret take.</summary>
    public string? WebhookId { get; init; }

    /// <summary>The URL of a webhook as far as its first path segment.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>The body a webhook receives: Json, Slack or Teams.</summary>
    public WebhookFormat? Format { get; init; }

    /// <summary>The first 12 hex digits of the SHA-256 of the webhook's secret, to tell secrets apart.</summary>
    public string? SecretFingerprint { get; init; }

    public DateTimeOffset? SecretCreatedAt { get; init; }

    /// <summary>Until when the secret before the last rotation also signs; null when it no longer does.</summary>
    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }

    /// <summary>The notification types the contact subscribes to.</summary>
    public required NotificationType[] Type { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    internal static NotificationType[] Types(NotificationType types) =>
        [.. Enum.GetValues<NotificationType>().Where(t => t != NotificationType.None && types.HasFlag(t))];

    internal static AuditNotificationContact From(NotificationContact c) => new()
    {
        ProjectId = c.ProjectId,
        Kind = "Email",
        Target = c.Email,
        Email = c.Email,
        Type = Types(c.Types),
        CreatedAt = c.CreatedAt,
    };

    internal static AuditNotificationContact From(WebhookContact w) => new()
    {
        ProjectId = w.ProjectId,
        Kind = "Webhook",
        Target = $"{w.Format} {w.DisplayUrl}",
        WebhookId = w.Id,
        WebhookUrl = w.DisplayUrl,
        Format = w.Format,
        SecretFingerprint = w.SecretFingerprint,
        SecretCreatedAt = w.SecretCreatedAt,
        PreviousSecretExpiresAt = w.PreviousSecretExpiresAt,
        Type = Types(w.Types),
        CreatedAt = w.CreatedAt,
    };
}
