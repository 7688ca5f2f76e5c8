namespace AuditOrleans.Grains;

public sealed class RetentionOptions
{
    /// <summary>Days events are kept; 0 keeps them forever.</summary>
    public int Days { get; set; } = 90;

    /// <summary>How often the purge runs.</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);
}
