namespace AuditOrleans.Grains;

/// <summary>How alerts live after they fire (docs/alerts.md, Episodes; Backfill and late events; Grouping and the email cap).</summary>
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

    /// <summary>
    /// After an email of a single-event alert, further matches of the same project-region and
    /// alert within this time go out together as one digest. 00:00:00 turns grouping off.
    /// </summary>
    public TimeSpan GroupInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Most emails a contact receives in any hour; beyond it, the single-event alerts' emails
    /// and digests wait and merge into one digest. 0 turns the cap off.
    /// </summary>
    public int MaxEmailsPerContactPerHour { get; set; } = 20;
}
