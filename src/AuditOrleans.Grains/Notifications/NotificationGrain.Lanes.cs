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

    // Receivers whose lane ended while the round was reading what is due: that read may predate
    // the lane's record (the grain is reentrant and the read awaits the database), so it may
    // still list the notice just sent. The round leaves them to the round the lane asks for.
    private readonly HashSet<string> lanesEndedDuringRead = new(StringComparer.Ordinal);
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
            lanesEndedDuringRead.Add(recipient);
            if (!stopping.IsCancellationRequested)
            {
                _ = RequestRoundAsync();
            }
        }
    }

    /// <summary>True when <paramref name="recipient"/> must wait: its lane is busy, or ended during the round's last read of what is due.</summary>
    private bool LaneBusy(string recipient) => webhookLanes.ContainsKey(recipient) || lanesEndedDuringRead.Contains(recipient);

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
