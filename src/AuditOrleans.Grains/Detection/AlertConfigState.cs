using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Detection;

/// <summary>Persisted state of <see cref="AlertConfigGrain"/>: JSON-friendly and versionable.</summary>
[GenerateSerializer]
[Alias("AuditOrleans.AlertConfigState")]
public sealed class AlertConfigState
{
    /// <summary>The state name in grain storage (the GrainTypeString of its row); the detector reads the same row.</summary>
    public const string StateName = "alertConfig";

    /// <summary>Names of the active alerts.</summary>
    [Id(0)] public List<string> Active { get; set; } = [];

    [Id(1)] public long Version { get; set; }

    [Id(2)] public DateTimeOffset? UpdatedAt { get; set; }

    /// <summary>The custom alert rules of the project-region, in creation order (docs/rules.md).</summary>
    [Id(3)] public List<AlertRule> Rules { get; set; } = [];
}
