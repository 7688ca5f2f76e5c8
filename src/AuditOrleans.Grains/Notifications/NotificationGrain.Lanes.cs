using AuditOrleans.Grains.Diagnostics;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// The outbox's webhook lanes (docs/webhooks.md, Delivery): each webhook receiver gets its notices
/// one at a time, in order, beside the round.
/// </summary>
public sealed partial class NotificationGrain
{
    // Webhook receivers being sent to, by contact id: one notice at a time per receiver, in the
    // background, so that a slow receiver holds up neither the emails nor other receivers. The
    // lanes started by the running round: its waiters are answered when they are done too.
    private readonly Dictionary<string, Task> webhookLanes = new(StringComparer.Ordinal);
    private List<Task> roundLanes = [];

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
}
