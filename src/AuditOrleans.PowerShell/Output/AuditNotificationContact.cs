namespace AuditOrleans.PowerShell;

/// <summary>An email notification contact of a project; alerts go to the Security ones. Webhooks are <see cref="AuditWebhookContact"/>.</summary>
public sealed class AuditNotificationContact
{
    public required string ProjectId { get; init; }

    /// <summary>Email (webhooks are <see cref="AuditWebhookContact"/>, Kind Webhook).</summary>
    public string Kind => "Email";

    /// <summary>The email address (what the contacts table shows for every kind).</summary>
    public string Target => Email;

    /// <summary>The address.</summary>
    public required string Email { get; init; }

    /// <summary>The notification types the contact subscribes to.</summary>
    public required NotificationType[] Type { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    internal static NotificationType[] Types(NotificationType types) =>
        [.. Enum.GetValues<NotificationType>().Where(t => t != NotificationType.None && types.HasFlag(t))];

    internal static AuditNotificationContact From(NotificationContact c) => new()
    {
        ProjectId = c.ProjectId,
        Email = c.Email,
        Type = Types(c.Types),
        CreatedAt = c.CreatedAt,
    };
}
