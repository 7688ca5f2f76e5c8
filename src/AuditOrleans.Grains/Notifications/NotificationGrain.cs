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

    // The mail session kept from the last round while it stays usable: the next alert skips the
    // connect, greeting and login (docs/architecture.md, The path of one event: MailSender).
    private IMailSession? keptSession;
    private IGrainTimer? timer;
    private Task? rounds;
    private bool roundRequested;
    private TaskCompletionSource? requestedRoundDone;

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

        if (keptSession is { } kept)
        {
            keptSession = null;
            await kept.DisposeAsync();
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
        var session = keptSession ?? sender.OpenSession();
        keptSession = null;
        try
        {
            await DeliverDueAsync(session, cancellationToken);
        }
        finally
        {
            if (session.Reusable && !stopping.IsCancellationRequested)
            {
                keptSession = session;
            }
            else
            {
                await session.DisposeAsync();
            }
        }
    }

    private async Task DeliverDueAsync(IMailSession session, CancellationToken cancellationToken)
    {
        while (true)
        {
            lanesEndedDuringRead.Clear();
            var due = await store.GetDueAsync(time.GetUtcNow(), BatchSize, cancellationToken);
            var taken = 0;
            foreach (var delivery in due)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (LaneBusy(delivery.Recipient))
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
            lanesEndedDuringRead.Clear();
            var digests = await store.GetDueDigestsAsync(time.GetUtcNow(), BatchSize, cancellationToken);
            var taken = 0;
            foreach (var digest in digests)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (LaneBusy(digest.Recipient))
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
}
