namespace AuditOrleans.Grains.Notifications;

/// <summary>The webhook's host resolved to an address the silo must not connect to (docs/security.md, Webhook targets).</summary>
public sealed class WebhookTargetRefusedException : Exception
{
    public WebhookTargetRefusedException()
    {
    }

    public WebhookTargetRefusedException(string message)
        : base(message)
    {
    }

    public WebhookTargetRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
