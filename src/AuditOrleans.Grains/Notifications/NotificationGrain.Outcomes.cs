using AuditOrleans.Grains.Diagnostics;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// One attempt of the outbox: a digest or a single notice sent by email or webhook, and its
/// outcome recorded (docs/alerts.md, Delivery), with its log line and metrics.
/// </summary>
public sealed partial class NotificationGrain
{
    private async Task DeliverDigestAsync(IMailSession? session, DueDigest digest, CancellationToken cancellationToken)
    {
        if (digest.Attempts == 0 && await CapReachedAsync(digest.ProjectId, digest.Recipient, cancellationToken) is { } until)
        {
            if (digest.IsMerged)
            {
                await store.PostponeDigestAsync(digest, until, CancellationToken.None);
                LogPostponed(logger, digest.Id, digest.Recipient, until);
            }
            else
            {
                var merged = await store.DeferDigestAsync(digest, until, time.GetUtcNow(), CancellationToken.None);
                LogDeferred(logger, digest.Id, digest.Recipient, merged, until);
            }

            return;
        }

        await store.CloseDigestAsync(digest, time.GetUtcNow(), CancellationToken.None);
        var (firings, total) = await store.GetDigestFiringsAsync(digest.Id, DigestEmailComposer.MaxDigestRows, cancellationToken);
        if (total == 0)
        {
            // Nothing to carry (its firings moved to another digest): done without an email.
            await store.UpdateDigestAsync(digest, DeliveryState.Delivered, digest.Attempts, "empty: nothing to send", time.GetUtcNow(), null, CancellationToken.None);
            return;
        }

        var outcome = WebhookSecretLimits.IsWebhookId(digest.Recipient)
            ? await SendWebhookAsync(digest.Recipient, format => WebhookPayloads.Digest(format, DigestMessage.For(digest, firings, total, options.Value), digest.MessageId), digest.MessageId, cancellationToken)
            : await SendAsync(session!, () => digestComposer.Compose(digest, firings, total), cancellationToken);
        var (alert, region) = (digest.Alert ?? firings[0].Alert, digest.Region ?? firings[0].Region);
        await RecordOutcomeAsync(digest.Id, digest.Recipient, alert, region, digest.Attempts + 1, outcome,
            (state, error, next, deliveredAt) => store.UpdateDigestAsync(digest, state, digest.Attempts + 1, error, next, deliveredAt, CancellationToken.None),
            attempts => LogDigestDelivered(logger, digest.Id, total, digest.Recipient, attempts));
    }

    private Task RecordAsync(DueDelivery delivery, SendOutcome outcome)
    {
        var (alertId, recipient, attempts) = (delivery.Alert.Id, delivery.Recipient, delivery.Attempts + 1);

        // Every real firing's delivered notice counts in its contact's cap; a test's does not.
        (string, string)? counted = delivery.Alert.IsTest ? null : (delivery.Alert.ProjectId, delivery.MessageId);
        return RecordOutcomeAsync(alertId, recipient, delivery.Alert.Alert, delivery.Alert.Region, attempts, outcome,
            (state, error, next, deliveredAt) => store.UpdateDeliveryAsync(
                alertId, recipient, state, attempts, error, next, deliveredAt, state == DeliveryState.Delivered ? counted : null, CancellationToken.None),
            n => LogDelivered(logger, delivery.Alert.Alert, alertId, recipient, n));
    }

    /// <summary>
    /// Records attempt number <paramref name="attempts"/> of a notice or digest: delivered, failed
    /// for good (refused, or out of attempts) or retried after the back-off or the receiver's
    /// Retry-After, through <paramref name="update"/> (state, last error, next attempt, delivered at).
    /// </summary>
    private async Task RecordOutcomeAsync(
        string id, string recipient, AlertName alert, string region, int attempts, SendOutcome outcome,
        Func<DeliveryState, string?, DateTimeOffset, DateTimeOffset?, Task> update, Action<int> logDelivered)
    {
        var policy = RetryPolicy.For(options.Value, recipient);
        var now = time.GetUtcNow();
        switch (outcome.Status)
        {
            case SendStatus.Delivered:
                await update(DeliveryState.Delivered, null, now, now);
                logDelivered(attempts);
                AuditMetrics.RecordDelivered(alert, region);
                AuditMetrics.RecordDeliveryOutcome(policy.Channel, AuditMetrics.Delivered);
                break;
            case SendStatus.Permanent:
                await update(DeliveryState.Failed, outcome.Error, now, null);
                LogRefused(logger, id, recipient, outcome.Error);
                AuditMetrics.RecordDeliveryFailed(alert, region, final: true);
                AuditMetrics.RecordDeliveryOutcome(policy.Channel, AuditMetrics.Failed);
                break;
            case SendStatus.Transient when attempts >= policy.MaxAttempts:
                await update(DeliveryState.Failed, $"Gave up after {attempts} attempts ({policy.MaxAttemptsKey}). Last error: {outcome.Error}", now, null);
                LogGaveUp(logger, id, recipient, attempts, outcome.Error);
                AuditMetrics.RecordDeliveryFailed(alert, region, final: true);
                AuditMetrics.RecordDeliveryOutcome(policy.Channel, AuditMetrics.Failed);
                break;
            default:
                var next = policy.NextAttempt(now, attempts, outcome);
                await update(DeliveryState.Retrying, outcome.Error, next, null);
                LogRetrying(logger, id, recipient, attempts, next, outcome.Error);
                AuditMetrics.RecordDeliveryFailed(alert, region, final: false);
                AuditMetrics.RecordDeliveryOutcome(policy.Channel, AuditMetrics.Retrying);
                break;
        }
    }

    private static async Task<SendOutcome> SendAsync(IMailSession session, Func<MimeKit.MimeMessage> compose, CancellationToken cancellationToken)
    {
        MimeKit.MimeMessage message;
        try
        {
            message = compose();
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            // A configuration problem (Smtp:From): retried, so that fixing it delivers the backlog.
            return SendOutcome.Transient(ex.Message);
        }

        return await session.SendAsync(message, cancellationToken);
    }

    /// <summary>
    /// One attempt to a webhook contact: its URL, format and secrets read now (a contact removed
    /// since the firing is a permanent failure; a rotated secret signs from now on), the body
    /// rendered in its format, signed and posted with the delivery's stable webhook id.
    /// </summary>
    private async Task<SendOutcome> SendWebhookAsync(string contactId, Func<WebhookFormat, byte[]> render, string webhookId, CancellationToken cancellationToken)
    {
        WebhookTarget? target;
        try
        {
            target = await webhookStore.GetTargetAsync(contactId, time.GetUtcNow(), cancellationToken);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return SendOutcome.Permanent(
                $"The webhook contact {contactId} cannot be opened with this installation's key (the database was copied without it, or the row was altered): remove it and add it again.");
        }

        if (target is null)
        {
            return SendOutcome.Permanent($"The webhook contact {contactId} was removed before this notice could be delivered.");
        }

        return await webhooks.SendAsync(target, webhookId, render(target.Format), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Alert} (firing {FiringId}) delivered to {Recipient} at attempt {Attempts}")]
    private static partial void LogDelivered(ILogger logger, AlertName alert, string firingId, string recipient, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Firing or digest {FiringId} to {Recipient}: attempt {Attempts} failed, next attempt at {NextAttemptAt:o}: {Error}")]
    private static partial void LogRetrying(ILogger logger, string firingId, string recipient, int attempts, DateTimeOffset nextAttemptAt, string? error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Firing or digest {FiringId} to {Recipient} permanently refused, not retried: {Error}")]
    private static partial void LogRefused(ILogger logger, string firingId, string recipient, string? error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Firing or digest {FiringId} to {Recipient} failed after {Attempts} attempts, not retried: {Error}")]
    private static partial void LogGaveUp(ILogger logger, string firingId, string recipient, int attempts, string? error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Test notification of {Alert} recorded for {ProjectId}/{Region} (firing {FiringId}, {Recipients} recipients)")]
    private static partial void LogTestRecorded(ILogger logger, AlertName alert, string projectId, string region, string firingId, int recipients);

    [LoggerMessage(Level = LogLevel.Information, Message = "Digest {DigestId} ({Firings} firings) delivered to {Recipient} at attempt {Attempts}")]
    private static partial void LogDigestDelivered(ILogger logger, string digestId, int firings, string recipient, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Email cap of {Recipient} reached: {Item} waits in digest {DigestId}, due {Due:o} (Alerts:MaxEmailsPerContactPerHour)")]
    private static partial void LogDeferred(ILogger logger, string item, string recipient, string digestId, DateTimeOffset due);

    [LoggerMessage(Level = LogLevel.Information, Message = "Email cap of {Recipient} still reached: digest {DigestId} now due {Due:o}")]
    private static partial void LogPostponed(ILogger logger, string digestId, string recipient, DateTimeOffset due);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification round failed; the outbox tries again at its next round")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
