namespace AuditOrleans.Bench;

/// <summary>
/// Audit events shaped like the provider's: a principal calling an API method on one
/// resource, from an address, with an HTTP status. Events are generated already normalised
/// (id, UTC time, region, project), so that the engine stores them unchanged and the baseline
/// can store the very same rows.
/// </summary>
public sealed class Workload(int seed)
{
    private static readonly string[] Methods = ["ListServers", "GetServer", "CreateServer", "DeleteServer", "ListVolumes", "UpdateSecurityGroup", "ListIPs"];
    private static readonly string[] Regions = ["fr-par", "nl-ams", "pl-waw"];

    private readonly Random random = new(seed);
    private long sequence;

    public static string NewProjectId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(64, prefix.Length + 25)];

    /// <summary>One event; <paramref name="status"/> null draws one (mostly 200, some 404 and 403).</summary>
    public AuditEvent Event(string projectId, string region, DateTimeOffset at, int? status = null)
    {
        var n = Interlocked.Increment(ref sequence);
        var method = Methods[random.Next(Methods.Length)];
        var code = status ?? random.Next(100) switch
        {
            < 92 => 200,
            < 96 => 404,
            _ => 403,
        };
        return new AuditEvent
        {
            Id = Guid.CreateVersion7(at).ToString(),
            RecordedAt = at.ToUniversalTime(),
            Locality = region,
            Region = region,
            ProjectId = projectId,
            PrincipalId = $"principal-{random.Next(50):D3}",
            SourceIp = $"198.51.100.{random.Next(1, 255)}",
            UserAgent = "scaleway-sdk-go/v1.0.0-beta.30 terraform-provider/2.50.0",
            ProductName = "instance",
            ServiceName = "scaleway.instance.v1.Api",
            MethodName = method,
            RequestId = $"req-{n:D12}",
            StatusCode = code,
            Resources =
            [
                new AuditResource { Id = $"{Guid.NewGuid()}", Type = "instance_server", Name = $"web-{random.Next(1000):D3}" },
            ],
        };
    }

    /// <summary>
    /// Batches of one project each (a forwarder sends its project's events), the events spread
    /// over the three regions, times within the last minutes.
    /// </summary>
    public List<(string ProjectId, List<AuditEvent> Events)> Batches(IReadOnlyList<string> projects, int batches, int batchSize, DateTimeOffset now)
    {
        var result = new List<(string, List<AuditEvent>)>(batches);
        for (var b = 0; b < batches; b++)
        {
            var project = projects[b % projects.Count];
            var events = new List<AuditEvent>(batchSize);
            for (var i = 0; i < batchSize; i++)
            {
                events.Add(Event(project, Regions[random.Next(Regions.Length)], now.AddMilliseconds(-random.Next(600_000))));
            }

            result.Add((project, events));
        }

        return result;
    }
}
