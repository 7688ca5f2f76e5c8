namespace AuditOrleans.Grains;

/// <summary>How alerts live after they fire (docs/alerts.md, Episodes; Backfill and late events).</summary>
public sealed class AlertsOptions
{
    /// <summary>
    /// Shortest time between two notices of one HttpForbiddenErrorRateHigh episode (its firing
    /// and its updates): an update that a material change calls for waits until this much time
    /// has passed since the previous notice. The resolved notice never waits.
    /// </summary>
    public TimeSpan EpisodeRepeatInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// An event whose recorded_at is older than this when it is stored came late: the alerts it
    /// fires still go out, marked late with the time the event happened.
    /// </summary>
    public TimeSpan LatenessThreshold { get; set; } = TimeSpan.FromMinutes(15);
}
