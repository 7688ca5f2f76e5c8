using System.Diagnostics;
using AuditOrleans.Grains.Diagnostics;
using AuditOrleans.Grains.Ingestion;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace AuditOrleans.Grains;

/// <summary>
/// Validates events, routes each to its project-region and hands them to the detectors in
/// batches. Stateless: Orleans runs as many activations per silo as the load needs.
/// </summary>
[StatelessWorker]
public sealed class IngestGrain(IOptions<AuditOrleansOptions> options, TimeProvider time) : Grain, IIngestGrain
{
    private readonly EventValidator validator = new(options.Value.Regions, time);

    public async Task<IngestResult> IngestAsync(string defaultProjectId, IReadOnlyList<AuditEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count > EventValidator.MaxBatchSize)
        {
            throw new ArgumentException(
                $"A batch holds at most {EventValidator.MaxBatchSize} events; this one has {events.Count}. Split it into smaller batches.", nameof(events));
        }

        if (!Scope.IsValidProjectId(defaultProjectId))
        {
            throw new ArgumentException(Scope.DescribeProjectIdRule(defaultProjectId), nameof(defaultProjectId));
        }

        var started = Stopwatch.GetTimestamp();
        var errors = new List<EventError>();
        var groups = new Dictionary<string, List<AuditEvent>>(StringComparer.Ordinal);
        var seen = new HashSet<(string, string)>();
        var duplicates = 0;
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is not { } raw)
            {
                errors.Add(new EventError(i, null, "event", "The event is empty."));
                AuditMetrics.RecordRejected(AuditMetrics.UnknownRegion, 1);
                continue;
            }

            var result = validator.Validate(raw, i, defaultProjectId);
            if (result.Error is { } error)
            {
                errors.Add(error);
                AuditMetrics.RecordRejected(Scope.ResolveRegion(raw.Locality, raw.ProductName, options.Value.Regions) ?? AuditMetrics.UnknownRegion, 1);
                continue;
            }

            var e = result.Event!;
            if (!seen.Add((e.ProjectId!, e.Id!)))
            {
                duplicates++;
                AuditMetrics.RecordDuplicated(e.Region!, 1);
                continue;
            }

            var key = Scope.Key(e.ProjectId!, e.Region!);
            if (!groups.TryGetValue(key, out var group))
            {
                groups[key] = group = [];
            }

            group.Add(e);
        }

        var appended = await Task.WhenAll(groups.Select(g => GrainFactory.GetGrain<IDetectorGrain>(g.Key).AppendAsync(g.Value)));
        AuditMetrics.RecordIngestDuration(started);
        return new IngestResult(appended.Sum(static a => a.Accepted), duplicates + appended.Sum(static a => a.Duplicates), errors);
    }
}
