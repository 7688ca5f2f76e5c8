namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// How a channel's failed deliveries are retried (docs/alerts.md, Delivery): email by the
/// <c>Smtp</c> settings, webhook contacts by <c>Notifications:Webhooks</c>.
/// </summary>
/// <param name="Channel">email or webhook: the metrics' channel tag.</param>
/// <param name="Initial">The first retry delay, doubled at each failure.</param>
/// <param name="Max">The longest delay.</param>
/// <param name="MaxAttempts">Attempts before the delivery is failed.</param>
/// <param name="MaxAttemptsKey">The setting named in the error when attempts run out.</param>
public readonly record struct RetryPolicy(string Channel, TimeSpan Initial, TimeSpan Max, int MaxAttempts, string MaxAttemptsKey)
{
    /// <summary>The policy of a recipient: an email address, or a webhook contact's id.</summary>
    public static RetryPolicy For(AuditOrleansOptions settings, string recipient)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (WebhookSecretLimits.IsWebhookId(recipient))
        {
            var w = settings.Notifications.Webhooks;
            return new RetryPolicy("webhook", w.InitialRetryDelay, w.MaxRetryDelay, w.MaxAttempts, "Notifications:Webhooks:MaxAttempts");
        }

        var smtp = settings.Smtp;
        return new RetryPolicy("email", smtp.InitialRetryDelay, smtp.MaxRetryDelay, smtp.MaxAttempts, "Smtp:MaxAttempts");
    }

    /// <summary>When the next attempt is due after <paramref name="attempts"/> failed ones: the back-off, or later when the receiver asked for a longer wait (Retry-After, already capped).</summary>
    public DateTimeOffset NextAttempt(DateTimeOffset now, int attempts, SendOutcome outcome)
    {
        var delay = NotificationGrain.RetryDelay(Initial, Max, attempts);
        return now + (outcome.RetryAfter is { } asked && asked > delay ? asked : delay);
    }
}
