using System.ComponentModel.DataAnnotations;

namespace AuditOrleans.Grains;

public sealed class RetentionOptions
{
    /// <summary>Days events are kept; 0 keeps them forever.</summary>
    [Range(0, 36500)]
    public int Days { get; set; } = 90;

    /// <summary>How often the purge runs.</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);
}
