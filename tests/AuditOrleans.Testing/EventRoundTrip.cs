using System.Text.Json;
using AuditOrleans.Silo.WebConsole;
using Orleans;
using Xunit;

namespace AuditOrleans.Testing;

/// <summary>
/// What every reader of the log does with stored events, checked for a project's events: read
/// back through the log grain, page by page (following continuation tokens), rendered as the
/// console's <c>/audit-trail</c> renders a page, written as Export-AuditEvent and Get-AuditEvent
/// write them and read back by a JSON reader with default settings, and every chain verified.
/// </summary>
public static class EventRoundTrip
{
    /// <summary>Runs every reader over the project's events recorded in [<paramref name="from"/>, <paramref name="to"/>]; returns them oldest first.</summary>
    /// <param name="grains">The cluster.</param>
    /// <param name="projectId">Whose events.</param>
    /// <param name="from">Earliest recorded_at.</param>
    /// <param name="to">Latest recorded_at.</param>
    /// <param name="pageSize">Events per page (small sizes exercise the continuation tokens).</param>
    /// <param name="context">Prefixed to failure messages (e.g. a fuzz seed).</param>
    public static async Task<IReadOnlyList<AuditRecord>> AssertReadableAsync(
        IGrainFactory grains, string projectId, DateTimeOffset from, DateTimeOffset to, int pageSize, string context = "")
    {
        var log = grains.GetGrain<IAuditLogGrain>(0);
        var query = new AuditQuery { ProjectId = projectId, RecordedAfter = from, RecordedBefore = to, Order = SortOrder.OldestFirst, PageSize = pageSize };
        var records = new List<AuditRecord>();
        do
        {
            AuditPage page;
            try
            {
                page = await log.QueryAsync(query);
            }
            catch (Exception ex)
            {
                Assert.Fail($"{context}: reading a page of {projectId} failed after {records.Count} events: {ex.GetType().Name}: {ex.Message}");
                throw;
            }

            Assert.True(page.Records.Count <= pageSize, $"{context}: a page holds {page.Records.Count} events, more than {pageSize}");
            var html = AuditTrailPage.Results(new AuditTrailPage.Filters { ProjectId = projectId }, query, page).ToString();
            var rows = html.Split("<tr>").Length - 2; // the header row is one
            Assert.True(rows == page.Records.Count || page.Records.Count == 0, $"{context}: the console rendered {rows} rows for a page of {page.Records.Count} events");
            records.AddRange(page.Records);
            query = query with { ContinuationToken = page.ContinuationToken };
        }
        while (query.ContinuationToken is not null);

        Assert.True(records.Count == records.Select(static r => (r.Region, r.Sequence)).Distinct().Count(), $"{context}: paging returned an event twice");
        foreach (var record in records)
        {
            var where = $"{context}: event {Scope.Printable(record.Event.Id)} ({record.Region} #{record.Sequence})";

            // Export-AuditEvent's line, read back with System.Text.Json's defaults.
            var line = AuditEventJson.Serialize(record.Event with { Region = record.Region, ProjectId = record.Event.ProjectId ?? record.ProjectId });
            var depth = IngestLimits.JsonDepth(line, 1000);
            Assert.True(depth <= IngestLimits.MaxEventJsonDepth, $"{where}: its export line nests {depth} deep");
            try
            {
                using (JsonDocument.Parse(line))
                {
                }

                Assert.Equal(record.Event.Id, AuditEventJson.Parse(line).Id);

                // Get-AuditEvent's Resources column.
                if (record.Event.Resources is { Count: > 0 } resources)
                {
                    using (JsonDocument.Parse(AuditEventJson.SerializeResources(resources)))
                    {
                    }
                }
            }
            catch (Exception ex) when (ex is JsonException or FormatException)
            {
                Assert.Fail($"{where}: its export form does not read back: {ex.Message}");
            }
        }

        foreach (var region in records.Select(static r => r.Region).Distinct())
        {
            var report = await log.VerifyAsync(projectId, region);
            Assert.True(report.IsValid, $"{context}: chain {projectId}/{region} broken at {report.FirstBrokenSequence}: {report.Reason}");
        }

        return records;
    }

    /// <summary>A JSON document whose objects and arrays nest exactly <paramref name="depth"/> deep (at least 1), alternating objects and arrays.</summary>
    public static string Nested(int depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        var open = new System.Text.StringBuilder();
        var close = new System.Text.StringBuilder();
        for (var level = 1; level <= depth; level++)
        {
            var innermost = level == depth;
            if (level % 2 == 1)
            {
                open.Append(innermost ? "{\"leaf\":1" : "{\"k\":");
                close.Insert(0, '}');
            }
            else
            {
                open.Append(innermost ? "[1" : "[");
                close.Insert(0, ']');
            }
        }

        return open.Append(close).ToString();
    }
}
