using System.Diagnostics;
using AuditOrleans.Grains.Diagnostics;
using AuditOrleans.Grains.Ingestion;
using AuditOrleans.Grains.Security;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace AuditOrleans.Grains.Ingestion;

/// <summary>
/// Validates events, routes each to its project-region and hands them to the detectors in
/// batches. Stateless: Orleans runs as many activations per silo as the load needs, and each is
/// reentrant, so that a batch waiting for its detectors' commit never holds up the next call
/// (a small batch carrying an alert's 403 must not queue behind bulk batches; docs/architecture.md,
/// Alerts before bulk writes). Nothing is kept across an await.
/// </summary>
/// <remarks>
/// Access control: a project-scoped key (EventWriter) may write its own project only. The
/// check is per event, after the event's project is resolved: an event of another project is
/// answered with an error on its <c>project_id</c> and the rest of the batch is kept, as for
/// any other bad event. Each key's events count against its rate (<see cref="IngestRateLimiter"/>).
/// </remarks>
[StatelessWorker]
[Reentrant]
public sealed class IngestGrain(IOptions<AuditOrleansOptions> options, TimeProvider time, IngestRateLimiter rateLimiter) : Grain, IIngestGrain
{
    private readonly EventValidator validator = new(options.Value.Regions, time);

    public Task<IngestResult> IngestAsync(string defaultProjectId, IReadOnlyList<AuditEvent> events) =>
        IngestAsync(defaultProjectId, events, IngestMode.Live);

    public async Task<IngestResult> IngestAsync(string defaultProjectId, IReadOnlyList<AuditEvent> events, IngestMode mode)
    {
        CheckBatch(defaultProjectId, events);
        if (!Enum.IsDefined(mode))
        {
            throw new BatchRejectedException("mode", $"'{mode}' is not an ingest mode: send Live or Historical.");
        }

        var caller = CallerContext.Principal;
        if (caller is not null)
        {
            rateLimiter.Acquire(caller.KeyId, events.Count);
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
                errors.Add(new EventError(i, null, "event", "The event is empty (null): send an object with at least status_code."));
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
            if (caller is not null && !caller.CoversProject(e.ProjectId))
            {
                errors.Add(new EventError(i, string.IsNullOrWhiteSpace(raw.Id) ? null : Scope.Printable(raw.Id), "project_id",
                    $"API key {caller.KeyId} may write events of its own project only, and this event belongs to project '{Scope.Printable(e.ProjectId)}': send it with a key of that project.")
                {
                    MissingPermission = Permission.WriteEvents,
                });
                continue;
            }

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

        var appended = await Task.WhenAll(groups.Select(g => mode == IngestMode.Live
            ? GrainFactory.GetGrain<IDetectorGrain>(g.Key).AppendAsync(g.Value)
            : GrainFactory.GetGrain<IDetectorGrain>(g.Key).AppendAsync(g.Value, mode)));
        AuditMetrics.RecordIngestDuration(started);
        return new IngestResult(appended.Sum(static a => a.Accepted), duplicates + appended.Sum(static a => a.Duplicates), errors);
    }

    /// <summary>
    /// Refuses a whole batch, before any of it is looked at or counted against the caller's rate,
    /// when it is missing, holds too many events or too much text, or its default project is not
    /// valid (<see cref="BatchRejectedException"/>).
    /// </summary>
    public static void CheckBatch(string? defaultProjectId, IReadOnlyList<AuditEvent>? events)
    {
        if (events is null)
        {
            throw new BatchRejectedException("events", "No events were sent (the batch is null): send a list of events.");
        }

        if (events.Count > IngestLimits.MaxBatchEvents)
        {
            throw new BatchRejectedException("events",
                $"A batch holds at most {IngestLimits.MaxBatchEvents} events; this one has {events.Count}. Nothing of it was stored: split it into smaller batches.",
                IngestLimits.MaxBatchEvents, events.Count);
        }

        long bytes = 0;
        foreach (var e in events)
        {
            bytes += IngestLimits.Measure(e);
        }

        if (bytes > IngestLimits.MaxBatchBytes)
        {
            throw new BatchRejectedException("batch_bytes",
                $"A batch holds at most {IngestLimits.FormatBytes(IngestLimits.MaxBatchBytes)} of event text; this one has {IngestLimits.FormatBytes(bytes)} in {events.Count} events. " +
                "Nothing of it was stored: split it into smaller batches (Send-AuditEvent does so by itself).",
                IngestLimits.MaxBatchBytes, bytes);
        }

        if (!Scope.IsValidProjectId(defaultProjectId))
        {
            throw new BatchRejectedException("default_project_id", Scope.DescribeProjectIdRule(defaultProjectId));
        }
    }
}
