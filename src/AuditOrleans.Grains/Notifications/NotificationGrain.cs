using AuditOrleans.Grains.Diagnostics;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// The outbox: delivers the recorded firings (one delivery row per recipient) by email, and to
/// webhook contacts as signed HTTP requests (docs/webhooks.md). One
/// activation in the cluster (key 0). Rounds run one at a time in the background, so
/// <see cref="WakeAsync"/> returns at once and a slow SMTP server never holds up a detector.
/// Emails go out in the round, over one SMTP session; each webhook receiver gets its own lane,
/// one notice at a time in order, beside the round, so a receiver that is slow or hangs until
/// its timeout delays neither the emails nor other receivers (docs/webhooks.md, Delivery).
/// What is due lives in the database, not in this activation: a timer re-runs a round when
/// the next retry is due (and at least every <see cref="PollInterval"/>), and
/// <see cref="OutboxStartup"/> wakes the outbox when a silo starts with deliveries pending,
/// so a restart loses none.
/// </summary>
[Reentrant]
public sealed partial class NotificationGrain(
    NotificationStore store,
    NotificationContactStore contacts,
    FiringRecorder recorder,
    AlertHistoryReader history,
    AlertEmailComposer composer,
    DigestEmailComposer digestComposer,
    MailSender sender,
    WebhookStore webhookStore,
    WebhookSender webhooks,
    IOptions<AuditOrleansOptions> options,
    TimeProvider time,
    ILogger<NotificationGrain> logger) : Grain, INotificationGrain
{
    /// <summary>Longest wait between two looks at the outbox, in case a wake-up was lost.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMinutes(1);

    /// <summary>Deliveries read per batch.</summary>
    public const int BatchSize = 100;

    private readonly CancellationTokenSource stopping = new();
    private IGrainTimer? timer;
    private Task? rounds;
    private bool roundRequested;
    private TaskCompletionSource? requestedRoundDone;

    // Webhook receivers being sent to, by contact id: one notice at a time per receiver, in the
    // background, so that a slow receiver holds up neither the emails nor other receivers. The
    // lanes started by the running round: its waiters are answered when they are done too.
    private readonly Dictionary<string, Task> webhookLanes = new(StringComparer.Ordinal);
    private List<Task> roundLanes = [];

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (this.GetPrimaryKeyLong() != 0)
        {
            throw new ArgumentException("The notification outbox is a single grain: use key 0.");
        }

        timer = this.RegisterGrainTimer(OnTimerAsync, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan)
        {
            Interleave = true,
            KeepAlive = true,
        });
        _ = RequestRoundAsync();
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        timer?.Dispose();
        await stopping.CancelAsync();
        if (rounds is { } running)
        {
            // A cancelled attempt is not recorded: the delivery stays due and the next activation sends it.
            try
            {
                await running.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }

        try
        {
            await Task.WhenAll(webhookLanes.Values).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public Task WakeAsync()
    {
        _ = RequestRoundAsync();
        return Task.CompletedTask;
    }

    public async Task<FiredAlert> SendTestAsync(string projectId, string region, AlertName alert)
    {
        if (!Scope.IsValidProjectId(projectId))
        {
            throw new ArgumentException(Scope.DescribeProjectIdRule(projectId), nameof(projectId));
        }

        var regions = options.Value.Regions;
        var knownRegion = Scope.NormalizeRegion(region, regions) ?? throw new ArgumentException(Scope.DescribeUnknownRegion(region, regions), nameof(region));
        if (!Enum.IsDefined(alert))
        {
            throw new ArgumentException($"'{alert}' is not an alert. Valid names: {AlertCatalog.ValidNames}.", nameof(alert));
        }

        var emails = await contacts.GetContactsAsync(projectId);
        if (!emails.Any(static c => c.Types.HasFlag(NotificationType.Security))
            && !(await webhookStore.GetAsync(projectId, time.GetUtcNow())).Any(static w => w.Types.HasFlag(NotificationType.Security)))
        {
            throw new InvalidOperationException(
                $"Project {projectId} has no Security contact, so an alert would reach nobody: add one with Add-AuditNotificationContact -Email <address> " +
                $"(or -WebhookUrl <https URL>) -Type Security -ProjectId {projectId}, then test again.");
        }

        var recorded = await recorder.RecordFiringAsync(TestAlerts.Sample(projectId, knownRegion, alert, time.GetUtcNow()));
        LogTestRecorded(logger, alert, projectId, knownRegion, recorded.Id, recorded.Deliveries.Count);
        await RequestRoundAsync();
        return await history.GetFiringAsync(recorded.Id) ?? recorded;
    }

    /// <summary>The delay before the next attempt after <paramref name="attempts"/> failed ones: doubling from InitialRetryDelay, capped at MaxRetryDelay.</summary>
    public static TimeSpan RetryDelay(SmtpOptions smtp, int attempts)
    {
        ArgumentNullException.ThrowIfNull(smtp);
        return RetryDelay(smtp.InitialRetryDelay, smtp.MaxRetryDelay, attempts);
    }

    /// <summary>The delay before the next attempt after <paramref name="attempts"/> failed ones: doubling from <paramref name="initial"/>, capped at <paramref name="max"/>.</summary>
    public static TimeSpan RetryDelay(TimeSpan initial, TimeSpan max, int attempts)
    {
        var delay = initial;
        for (var i = 1; i < attempts && delay < max; i++)
        {
            delay += delay;
        }

        return delay < max ? delay : max;
    }

    /// <summary>
    /// Asks for a round that starts after this call; the task completes when that round is
    /// over. Rounds never overlap: a request made during a round is served by the next one.
    /// </summary>
    private Task RequestRoundAsync()
    {
        roundRequested = true;
        requestedRoundDone ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = requestedRoundDone.Task;
        rounds ??= RunRoundsAsync();
        return done;
    }

    private async Task RunRoundsAsync()
    {
        await Task.Yield();
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                while (roundRequested && !stopping.IsCancellationRequested)
                {
                    roundRequested = false;
                    var waiters = requestedRoundDone;
                    requestedRoundDone = null;
                    try
                    {
                        await DeliverDueAsync(stopping.Token);
                    }
                    catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                    {
                    }
                    catch (Exception ex)
                    {
                        LogRoundFailed(logger, ex);
                    }
                    finally
                    {
                        AnswerWhenLanesAreDone(waiters);
                    }
                }

                await ScheduleNextAsync();

                // A request that came in while the timer was being set is served before leaving.
                if (!roundRequested)
                {
                    break;
                }
            }
        }
        finally
        {
            rounds = null;
            requestedRoundDone?.TrySetResult();
            requestedRoundDone = null;
        }
    }

    private async Task DeliverDueAsync(CancellationToken cancellationToken)
    {
        await using var session = sender.OpenSession();
        while (true)
        {
            var due = await store.GetDueAsync(time.GetUtcNow(), BatchSize, cancellationToken);
            var taken = 0;
            foreach (var delivery in due)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (webhookLanes.ContainsKey(delivery.Recipient))
                {
                    // Its receiver is still answering an earlier notice: this one goes next, in order.
                    continue;
                }

                taken++;
                if (delivery.Attempts == 0 && NotificationStore.IsGrouped(delivery.Alert)
                    && await CapReachedAsync(delivery.Alert.ProjectId, delivery.Recipient, cancellationToken) is { } until)
                {
                    var merged = await store.DeferDeliveryAsync(delivery, until, time.GetUtcNow(), CancellationToken.None);
                    LogDeferred(logger, delivery.Alert.Id, delivery.Recipient, merged, until);
                    continue;
                }

                if (WebhookSecretLimits.IsWebhookId(delivery.Recipient))
                {
                    StartLane(delivery.Recipient, async () => await RecordAsync(delivery, await SendWebhookAsync(
                        delivery.Recipient, format => WebhookPayloads.Alert(format, AlertMessage.For(delivery.Alert, options.Value.Console.BaseUrl), delivery.MessageId),
                        delivery.MessageId, stopping.Token)));
                    continue;
                }

                await RecordAsync(delivery, await SendAsync(session, () => composer.Compose(delivery.Alert, delivery.Recipient, delivery.MessageId), cancellationToken));
            }

            // A full page of notices whose receivers are all busy: their lanes ask for the next round.
            if (due.Count < BatchSize || taken == 0)
            {
                break;
            }
        }

        while (true)
        {
            var digests = await store.GetDueDigestsAsync(time.GetUtcNow(), BatchSize, cancellationToken);
            var taken = 0;
            foreach (var digest in digests)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (webhookLanes.ContainsKey(digest.Recipient))
                {
                    continue;
                }

                taken++;
                if (WebhookSecretLimits.IsWebhookId(digest.Recipient))
                {
                    StartLane(digest.Recipient, () => DeliverDigestAsync(session: null, digest, stopping.Token));
                    continue;
                }

                await DeliverDigestAsync(session, digest, cancellationToken);
            }

            if (digests.Count < BatchSize || taken == 0)
            {
                return;
            }
        }
    }

    /// <summary>
    /// When the recipient's email cap is reached (docs/alerts.md, The email cap): the time the
    /// oldest email of the last hour leaves the window, at which one more may go. Null when one
    /// may go now, or when there is no cap.
    /// </summary>
    private async Task<DateTimeOffset?> CapReachedAsync(string projectId, string recipient, CancellationToken cancellationToken)
    {
        var cap = options.Value.Alerts.MaxEmailsPerContactPerHour;
        if (cap <= 0)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var (count, oldest) = await store.GetRecentSendsAsync(projectId, recipient, now, cancellationToken);
        return count >= cap && oldest is { } first ? first + NotificationStore.CapWindow : null;
    }

    /// <summary>
    /// Sends to one webhook receiver in the background (its lane): the round goes on at once. When
    /// the lane is done, a round is asked for, which sends the receiver's next due notice.
    /// </summary>
    private void StartLane(string recipient, Func<Task> send)
    {
        var lane = RunLaneAsync(recipient, send);
        if (!lane.IsCompleted)
        {
            webhookLanes[recipient] = lane;
            roundLanes.Add(lane);
        }
    }

    private async Task RunLaneAsync(string recipient, Func<Task> send)
    {
        try
        {
            await send();
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Not recorded: the notice stays due and the next activation sends it.
        }
        catch (Exception ex)
        {
            LogRoundFailed(logger, ex);
        }
        finally
        {
            webhookLanes.Remove(recipient);
            if (!stopping.IsCancellationRequested)
            {
                _ = RequestRoundAsync();
            }
        }
    }

    /// <summary>Answers a round's waiters once the round and the webhook lanes it started are done.</summary>
    private void AnswerWhenLanesAreDone(TaskCompletionSource? waiters)
    {
        var lanes = roundLanes;
        roundLanes = [];
        if (waiters is null)
        {
            return;
        }

        if (lanes.Count == 0)
        {
            waiters.TrySetResult();
            return;
        }

        _ = Task.WhenAll(lanes).ContinueWith(_ => waiters.TrySetResult(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

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
        var policy = RetryPolicy.For(options.Value, digest.Recipient);
        var attempts = digest.Attempts + 1;
        var now = time.GetUtcNow();
        var alert = digest.Alert ?? firings[0].Alert;
        var region = digest.Region ?? firings[0].Region;
        switch (outcome.Status)
        {
            case SendStatus.Delivered:
                await store.UpdateDigestAsync(digest, DeliveryState.Delivered, attempts, null, now, now, CancellationToken.None);
                LogDigestDelivered(logger, digest.Id, total, digest.Recipient, attempts);
                AuditMetrics.RecordDelivered(alert, region);
                AuditMetrics.RecordDeliveryOutcome(policy.Channel, AuditMetrics.Delivered);
                break;
            case SendStatus.Permanent:
                await store.UpdateDigestAsync(digest, DeliveryState.Failed, attempts, outcome.Error, now, null, CancellationToken.None);
                LogRefused(logger, digest.Id, digest.Recipient, outcome.Error);
                AuditMetrics.RecordDeliveryFailed(alert, region, final: true);
                AuditMetrics.RecordDeliveryOutcome(policy.Channel, AuditMetrics.Failed);
                break;
            case SendStatus.Transient when attempts >= policy.MaxAttempts:
                var error = $"Gave up after {attempts} attempts ({policy.MaxAttemptsKey}). Last error: {outcome.Error}";
                await store.UpdateDigestAsync(digest, DeliveryState.Failed, attempts, error, now, null, CancellationToken.None);
                LogGaveUp(logger, digest.Id, digest.Recipient, attempts, outcome.Error);
                AuditMetrics.RecordDeliveryFailed(alert, region, final: true);
                AuditMetrics.RecordDeliveryOutcome(policy.Channel, AuditMetrics.Failed);
                break;
            default:
                var next = policy.NextAttempt(now, attempts, outcome);
                await store.UpdateDigestAsync(digest, DeliveryState.Retrying, attempts, outcome.Error, next, null, CancellationToken.None);
                LogRetrying(logger, digest.Id, digest.Recipient, attempts, next, outcome.Error);
                AuditMetrics.RecordDeliveryFailed(alert, region, final: false);
                AuditMetrics.RecordDeliveryOutcome(policy.Channel, AuditMetrics.Retrying);
                break;
        }
    }

    private async Task RecordAsync(DueDelivery delivery, SendOutcome outcome)
    {
        var policy = RetryPolicy.For(options.Value, delivery.Recipient);
        var attempts = delivery.Attempts + 1;
        var now = time.GetUtcNow();
        var (alertId, recipient) = (delivery.Alert.Id, delivery.Recipient);
        switch (outcome.Status)
        {
            case SendStatus.Delivered:
                // Every real firing's email counts in its contact's cap; a test's does not.
                (string, string)? counted = delivery.Alert.IsTest ? null : (delivery.Alert.ProjectId, delivery.MessageId);
                await store.UpdateDeliveryAsync(alertId, recipient, DeliveryState.Delivered, attempts, null, now, now, counted, CancellationToken.None);
                LogDelivered(logger, delivery.Alert.Alert, alertId, recipient, attempts);
                AuditMetrics.RecordDelivered(delivery.Alert.Alert, delivery.Alert.Region);
                AuditMetrics.RecordDeliveryOutcome(policy.Channel, AuditMetrics.Delivered);
                break;
            case SendStatus.Permanent:
                await store.UpdateDeliveryAsync(alertId, recipient, DeliveryState.Failed, attempts, outcome.Error, now, null, CancellationToken.None);
                LogRefused(logger, alertId, recipient, outcome.Error);
                AuditMetrics.RecordDeliveryFailed(delivery.Alert.Alert, delivery.Alert.Region, final: true);
                AuditMetrics.RecordDeliveryOutcome(policy.Channel, AuditMetrics.Failed);
                break;
            case SendStatus.Transient when attempts >= policy.MaxAttempts:
                var error = $"Gave up after {attempts} attempts ({policy.MaxAttemptsKey}). Last error: {outcome.Error}";
                await store.UpdateDeliveryAsync(alertId, recipient, DeliveryState.Failed, attempts, error, now, null, CancellationToken.None);
                LogGaveUp(logger, alertId, recipient, attempts, outcome.Error);
                AuditMetrics.RecordDeliveryFailed(delivery.Alert.Alert, delivery.Alert.Region, final: true);
                AuditMetrics.RecordDeliveryOutcome(policy.Channel, AuditMetrics.Failed);
                break;
            default:
                var next = policy.NextAttempt(now, attempts, outcome);
                await store.UpdateDeliveryAsync(alertId, recipient, DeliveryState.Retrying, attempts, outcome.Error, next, null, CancellationToken.None);
                LogRetrying(logger, alertId, recipient, attempts, next, outcome.Error);
                AuditMetrics.RecordDeliveryFailed(delivery.Alert.Alert, delivery.Alert.Region, final: false);
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

    private async Task ScheduleNextAsync()
    {
        if (timer is null || stopping.IsCancellationRequested)
        {
            return;
        }

        var wait = PollInterval;
        try
        {
            if (await store.GetNextDueAsync(stopping.Token) is { } next)
            {
                var until = next - time.GetUtcNow();
                wait = until <= TimeSpan.Zero ? TimeSpan.Zero : until < PollInterval ? until : PollInterval;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            LogRoundFailed(logger, ex);
        }

        timer.Change(wait, Timeout.InfiniteTimeSpan);
    }

    private Task OnTimerAsync(CancellationToken cancellationToken) => RequestRoundAsync();

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
