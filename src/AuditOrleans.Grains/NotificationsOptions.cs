namespace AuditOrleans.Grains;

/// <summary>Notification channels other than email (section <c>Notifications</c>, docs/configuration.md).</summary>
public sealed class NotificationsOptions
{
    /// <summary>Webhook contacts: the targets they may name and how their deliveries are retried (docs/webhooks.md).</summary>
    public WebhookOptions Webhooks { get; set; } = new();
}
