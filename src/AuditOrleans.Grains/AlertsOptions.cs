namespace AuditOrleans.Grains;

/// <summary>How alert emails are grouped and limited (docs/alerts.md, Grouping and the email cap).</summary>
public sealed class AlertsOptions
{
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
