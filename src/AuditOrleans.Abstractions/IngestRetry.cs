using Orleans.Runtime;
using Orleans.Runtime.Messaging;

namespace AuditOrleans;

/// <summary>How long and how often a client retries a batch whose silo went away.</summary>
public sealed record IngestRetryPolicy
{
    public static IngestRetryPolicy Default { get; } = new();

    /// <summary>
    /// Longest wait for the answer of one attempt. A request written to a gateway at the moment
    /// it dies gets no answer at all; rather than waiting for the client's response timeout,
    /// the batch is sent again (the ids make that safe).
    /// </summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Total time allowed for one batch, retries included; then the last error is thrown.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Wait before the first retry; doubled at each retry up to <see cref="MaxDelay"/>.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(4);
}

/// <summary>
/// Sending events so that losing a silo loses none and stores none twice. Every event gets its
/// id on the client before the first attempt; when an attempt fails because a silo or a gateway
/// went away, the same batch (same ids) is sent again. The silo stores an id once per project,
/// so events the lost attempt had already stored come back as duplicates instead of twice.
/// </summary>
/// <remarks>
/// Use with a client that knows several gateways (static list or the cluster's membership
/// table): Orleans routes the retry to a live gateway once the dead one is dropped. In the
/// result of a retried batch, <see cref="IngestResult.Duplicates"/> also counts the events an
/// earlier attempt stored before its answer was lost.
/// </remarks>
public static class IngestRetry
{
    /// <summary>The events with a client-side id on each one that has none (UUIDv7: time-ordered); others unchanged.</summary>
    public static IReadOnlyList<AuditEvent> WithIds(IReadOnlyList<AuditEvent> events, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        var clock = time ?? TimeProvider.System;
        if (events.All(static e => e is null || !string.IsNullOrWhiteSpace(e.Id)))
        {
            return events;
        }

        return [.. events.Select(e => e is null || !string.IsNullOrWhiteSpace(e.Id) ? e : e with { Id = Guid.CreateVersion7(clock.GetUtcNow()).ToString() })!];
    }

    /// <summary>
    /// True for failures after which the same batch may be sent again: the silo or gateway that
    /// handled it died or was unreachable, or the answer did not come back in time. Validation
    /// errors and refusals are not transient.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        SiloUnavailableException => true,
        OrleansMessageRejectionException => true,
        ConnectionFailedException => true,
        GatewayTooBusyException => true,
        TimeoutException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsTransient),
        _ => exception.InnerException is { } inner && IsTransient(inner),
    };

    /// <summary>
    /// Sends a batch through <see cref="IIngestGrain"/> and retries it with the same event ids
    /// after transient failures until <see cref="IngestRetryPolicy.Timeout"/>. A batch refused by
    /// the key's rate limit is sent again after the wait the silo named (a batch larger than
    /// the key's burst is not retried: it never fits).
    /// </summary>
    /// <param name="grains">The client (or grain factory).</param>
    /// <param name="defaultProjectId">Project for events that carry neither project_id nor organization_id.</param>
    /// <param name="events">The batch; events without an id get one (see <see cref="WithIds"/>).</param>
    /// <param name="mode">Live, or Historical for history whose alerts are recorded as backfill and not emailed.</param>
    /// <param name="policy">Retry timing; default <see cref="IngestRetryPolicy.Default"/>.</param>
    /// <param name="onRetry">Called before each retry with the failure, the attempt number that failed and the wait.</param>
    /// <param name="time">Clock for ids and waits; default the system clock.</param>
    /// <param name="cancellationToken">Stops waiting and retrying.</param>
    public static async Task<IngestResult> IngestWithRetryAsync(
        this IGrainFactory grains,
        string defaultProjectId,
        IReadOnlyList<AuditEvent> events,
        IngestMode mode = IngestMode.Live,
        IngestRetryPolicy? policy = null,
        Action<Exception, int, TimeSpan>? onRetry = null,
        TimeProvider? time = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var clock = time ?? TimeProvider.System;
        var rules = policy ?? IngestRetryPolicy.Default;
        var batch = WithIds(events, clock);
        var deadline = clock.GetUtcNow() + rules.Timeout;
        var delay = rules.InitialDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var ingest = grains.GetGrain<IIngestGrain>(0);
                var sending = mode == IngestMode.Live ? ingest.IngestAsync(defaultProjectId, batch) : ingest.IngestAsync(defaultProjectId, batch, mode);
                return await sending.WaitAsync(rules.AttemptTimeout, clock, cancellationToken);
            }
            catch (RateLimitExceededException limit) when (limit.RetryAfter > TimeSpan.Zero && !cancellationToken.IsCancellationRequested && clock.GetUtcNow() + limit.RetryAfter < deadline)
            {
                // Nothing of the batch was stored: wait as long as the silo said, then send it unchanged.
                onRetry?.Invoke(limit, attempt, limit.RetryAfter);
                await Task.Delay(limit.RetryAfter, clock, cancellationToken);
            }
            catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested && clock.GetUtcNow() + delay < deadline)
            {
                onRetry?.Invoke(ex, attempt, delay);
                await Task.Delay(delay, clock, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, rules.MaxDelay.Ticks));
            }
        }
    }
}
