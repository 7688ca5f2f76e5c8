using AuditOrleans.Grains.Storage;
using System.Data.Common;
using System.Globalization;
using System.Text;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// Aggregates over the log for the console's overview and incident timeline: events per time
/// bucket (all, 403, 4xx, 5xx), the busiest principals and source IPs, and the projects that
/// have events or firings. Each is one indexed SQL aggregate, not a walk of the events.
/// </summary>
public sealed class ActivityQueries(AuditDatabase database)
{
    /// <summary>Counts for a validated query; <paramref name="regions"/> are the regions to count (the query's, or every configured one).</summary>
    public async Task<ActivitySummary> GetAsync(ActivityQuery query, IReadOnlyCollection<string> regions, CancellationToken cancellationToken = default)
    {
        var from = DbTime.ToMicros(query.From);
        var to = DbTime.ToMicros(query.To);
        var width = Math.Max(1, query.Bucket.Ticks / 10);
        var count = (int)((to - from + width - 1) / width);
        var events = new long[count];
        var forbidden = new long[count];
        var client = new long[count];
        var server = new long[count];

        await using var connection = await database.OpenAsync(cancellationToken);

        // Counts per bucket read only the time and status indexes (project, region, recorded_at|status_code, ...).
        await ReadBucketsAsync(connection, query.ProjectId, regions, from, to, width, null, events, cancellationToken);
        await ReadBucketsAsync(connection, query.ProjectId, regions, from, to, width, (403, 403), forbidden, cancellationToken);
        await ReadBucketsAsync(connection, query.ProjectId, regions, from, to, width, (400, 499), client, cancellationToken);
        await ReadBucketsAsync(connection, query.ProjectId, regions, from, to, width, (500, 599), server, cancellationToken);

        var buckets = new ActivityBucket[count];
        for (var i = 0; i < count; i++)
        {
            buckets[i] = new ActivityBucket(DbTime.FromMicros(from + (i * width)), events[i], forbidden[i], client[i], server[i]);
        }

        var principals = query.Top == 0 ? [] : await TopAsync(connection, "principal_id", query.ProjectId, regions, from, to, query.Top, cancellationToken);
        var sources = query.Top == 0 ? [] : await TopAsync(connection, "source_ip", query.ProjectId, regions, from, to, query.Top, cancellationToken);
        return new ActivitySummary(buckets, principals, sources);
    }

    /// <summary>
    /// The projects with events or firings, in order. Distinct project ids are read by skipping
    /// through the primary key (one index seek per project), not by scanning the events.
    /// </summary>
    public async Task<IReadOnlyList<string>> ListProjectsAsync(int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "WITH RECURSIVE p(id, n) AS (" +
            " SELECT MIN(project_id), 1 FROM audit_events" +
            " UNION ALL SELECT (SELECT MIN(e.project_id) FROM audit_events e WHERE e.project_id > p.id), n + 1 FROM p WHERE p.id IS NOT NULL AND n < @n)" +
            " SELECT id FROM p WHERE id IS NOT NULL" +
            " UNION SELECT DISTINCT project_id FROM fired_alerts" +
            " ORDER BY 1 LIMIT @n",
            ("@n", limit));
        var projects = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            projects.Add(reader.GetString(0));
        }

        return projects;
    }

    private static async Task ReadBucketsAsync(DbConnection connection, string projectId, IReadOnlyCollection<string> regions, long from, long to, long width, (int Low, int High)? status, long[] counts, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT (recorded_at - @from) / @width AS b, COUNT(*) FROM audit_events WHERE project_id = @p");
        Regions(command, sql, regions);
        if (status is { } s)
        {
            sql.Append(s.Low == s.High ? " AND status_code = @slo" : " AND status_code >= @slo AND status_code <= @shi");
            AddParameter(command, "@slo", s.Low);
            if (s.Low != s.High)
            {
                AddParameter(command, "@shi", s.High);
            }
        }

        sql.Append(" AND recorded_at >= @from AND recorded_at < @to GROUP BY (recorded_at - @from) / @width");
        AddParameter(command, "@p", projectId);
        AddParameter(command, "@from", from);
        AddParameter(command, "@to", to);
        AddParameter(command, "@width", width);
        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var bucket = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
            if (bucket >= 0 && bucket < counts.Length)
            {
                counts[bucket] = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
            }
        }
    }

    private static async Task<IReadOnlyList<ActivityCount>> TopAsync(DbConnection connection, string column, string projectId, IReadOnlyCollection<string> regions, long from, long to, int top, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder().Append(CultureInfo.InvariantCulture,
            $"SELECT {column}, COUNT(*), SUM(CASE WHEN status_code = 403 THEN 1 ELSE 0 END) FROM audit_events WHERE project_id = @p");
        Regions(command, sql, regions);
        sql.Append(CultureInfo.InvariantCulture, $" AND recorded_at >= @from AND recorded_at < @to AND {column} IS NOT NULL GROUP BY {column} ORDER BY 2 DESC, 1 LIMIT @n");
        AddParameter(command, "@p", projectId);
        AddParameter(command, "@from", from);
        AddParameter(command, "@to", to);
        AddParameter(command, "@n", top);
        command.CommandText = sql.ToString();
        var list = new List<ActivityCount>(top);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new ActivityCount(reader.GetString(0), Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture)));
        }

        return list;
    }

    /// <summary>A region IN list, so that the (project, region, ...) indexes serve the time range.</summary>
    private static void Regions(DbCommand command, StringBuilder sql, IReadOnlyCollection<string> regions)
    {
        sql.Append(" AND region IN (");
        var i = 0;
        foreach (var region in regions)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"@r{i}");
            sql.Append(i == 0 ? name : ", " + name);
            AddParameter(command, name, region);
            i++;
        }

        sql.Append(')');
    }
}
