using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Storage;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// The HttpForbiddenErrorRateHigh episode in the detector (docs/alerts.md, Episodes): each
/// stored 403 through the window, the updates of the open episode, and its end on the silo's
/// clock, looked at by a timer while it is open.
/// </summary>
public sealed partial class DetectorGrain
{
    /// <summary>How often the detector looks at its open episode on the silo's clock.</summary>
    public static readonly TimeSpan EpisodeCheckInterval = TimeSpan.FromSeconds(30);

    // lastForbiddenStoredTicks when no 403 was stored.
    private const long Never = long.MinValue;

    // The open episode (null when none; window.EpisodeAlerted says the same), the silo clock
    // (UTC ticks) when a 403 was last stored, and the timer that runs while an episode is open.
    private ForbiddenEpisode? episode;
    private long lastForbiddenStoredTicks = Never;
    private IGrainTimer? episodeTimer;

    public async Task CheckEpisodeAsync()
    {
        if (episode is not { } open)
        {
            UpdateEpisodeTimer();
            return;
        }

        var now = services.Time.GetUtcNow();
        var savedWindow = window.Save();
        var savedEpisode = open.Clone();
        PendingFiring notice;
        if (IsQuiet(now))
        {
            notice = new PendingFiring(Notices(ProjectId(), now).Resolved(open, window.Newest, open.Backfill), headSequence);
            episode = null;
            window.EndEpisode();
        }
        else if (UpdateDue(open, now) is { } change)
        {
            notice = new PendingFiring(Notices(ProjectId(), now).Update(open, change, window.Newest, open.Backfill), headSequence);
            open.Noticed(now, open.Backfill);
        }
        else
        {
            return;
        }

        IReadOnlyList<FiredAlert> fired;
        try
        {
            fired = await services.Log.RecordFiringsAsync([notice]);
        }
        catch
        {
            window.Restore(savedWindow);
            episode = savedEpisode;
            throw;
        }

        await AfterCommitAsync(fired);
    }

    /// <summary>
    /// Runs one stored 403 through the window and the open episode: it may end the episode (the
    /// window ending at it holds 20 or fewer), count in it, or start one.
    /// </summary>
    private void Forbidden(AuditEvent e, long sequence, AlertNotices notices, bool historical, List<PendingFiring> firings)
    {
        var wasAlerted = window.EpisodeAlerted;
        var previousNewest = window.Newest;
        var opens = window.Add(DbTime.ToMicros(e.RecordedAt!.Value), IsActive(AlertName.HttpForbiddenErrorRateHigh));
        if (episode is { } open)
        {
            if (wasAlerted && !window.EpisodeAlerted)
            {
                firings.Add(new PendingFiring(notices.Resolved(open, previousNewest, historical), sequence));
                episode = null;
            }
            else
            {
                open.Count(e);
            }
        }

        if (opens)
        {
            var firing = notices.ForbiddenFiring(e, window.Newest!.Value, window.CountInWindow, historical);
            firings.Add(new PendingFiring(firing, sequence));
            episode = ForbiddenEpisode.Open(firing);
        }
    }

    /// <summary>True when the open episode is over on the silo's clock: no 403 came for the window's length, and the window ending now holds 20 or fewer.</summary>
    private bool IsQuiet(DateTimeOffset now) =>
        (lastForbiddenStoredTicks == Never || now.UtcTicks - lastForbiddenStoredTicks >= AlertCatalog.ForbiddenWindow.Ticks)
        && !window.ExceededAt(DbTime.ToMicros(now));

    /// <summary>What changed materially, when an update of the open episode is due: the alert is active and the repeat interval has passed since its last notice.</summary>
    private string? UpdateDue(ForbiddenEpisode open, DateTimeOffset now) =>
        IsActive(AlertName.HttpForbiddenErrorRateHigh) && now - open.NoticeAt >= services.Options.Alerts.EpisodeRepeatInterval
            ? open.MaterialChange()
            : null;

    /// <summary>A timer while an episode is open (it keeps the activation alive), none otherwise.</summary>
    private void UpdateEpisodeTimer()
    {
        if (episode is not null && episodeTimer is null)
        {
            episodeTimer = this.RegisterGrainTimer(
                static (detector, _) => detector.CheckEpisodeAsync(),
                this,
                new GrainTimerCreationOptions(EpisodeCheckInterval, EpisodeCheckInterval) { KeepAlive = true });
        }
        else if (episode is null && episodeTimer is not null)
        {
            episodeTimer.Dispose();
            episodeTimer = null;
        }
    }
}
