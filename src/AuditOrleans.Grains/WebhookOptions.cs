namespace AuditOrleans.Grains;

/// <summary>
/// Webhook contacts (<c>Notifications:Webhooks</c>, docs/webhooks.md and docs/security.md): which
/// addresses a webhook may reach, how long one request may take, and how failed deliveries are retried.
/// </summary>
public sealed class WebhookOptions
{
    /// <summary>
    /// Allows targets on private networks: RFC 1918, carrier-grade NAT, link-local, unique-local
    /// IPv6. Off by default, so that a contact cannot make the silo probe its own network. The
    /// cloud metadata addresses, multicast, broadcast and unspecified addresses stay refused.
    /// </summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary>Allows loopback targets (127.0.0.0/8, ::1), also over plain http. On by default (a receiver on the silo's own host).</summary>
    public bool AllowLoopbackTargets { get; set; } = true;

    /// <summary>Time allowed for one request, from connecting to the end of the response headers.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Delay before the first retry; doubled at each failure up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The longest wait a receiver's Retry-After header can ask for; a longer one is cut to this.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Attempts before a delivery is marked failed.</summary>
    public int MaxAttempts { get; set; } = 50;

    /// <summary>Default time the previous secret keeps signing after a rotation (Reset-AuditNotificationContactSecret).</summary>
    public TimeSpan RotationGracePeriod { get; set; } = TimeSpan.FromHours(24);
}
