using AuditOrleans.Grains.AuditLog;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Detection;

/// <summary>
/// What every <see cref="DetectorGrain"/> of the silo uses, in one shared object: a detector
/// keeps one reference to it instead of four (one detector per active project-region).
/// </summary>
public sealed class DetectorServices(
    AuditLogWriter log,
    IOptions<AuditOrleansOptions> options,
    TimeProvider time,
    ILogger<DetectorGrain> logger)
{
    public AuditLogWriter Log { get; } = log;

    public AuditOrleansOptions Options => options.Value;

    public TimeProvider Time { get; } = time;

    public ILogger<DetectorGrain> Logger { get; } = logger;
}
