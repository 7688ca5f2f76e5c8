using AuditOrleans.Grains.Storage;
using System.Data.Common;
using System.Globalization;
using System.Text;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// Aggregates over the log for the console's overview and incident timeline: events per time
/// bucket (all, 403, 4xx, 5xx), the principals and source IPs with the most 403s then the most
/// events, and the projects that have events or firings. Each is an indexed SQL aggregate over
/// the range (the bench's console phase times them with a million events).
/// </summary>
public sealed class ActivityQueries(AuditDatabase database)
{
    /// <summary>Counts for a validated query (its region, or every region that holds events of the project).</summary>
    public async Task<ActivitySummary> GetAsync(ActivityQuery query, CancellationToken cancellationToken = default)
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
        IReadOnlyCollection<string> regions = query.Region is { } one ? [one] : await AuditLogQueries.RegionsAsync(connection, query.ProjectId, cancellationToken);
        if (regions.Count == 0)
        {
            return new ActivitySummary([.. Enumerable.Range(0, count).Select(i => new ActivityBucket(DbTime.FromMicros(from + (i * width)), 0, 0, 0, 0))], [], []);
        }


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

        var (principals, sources) = query.Top == 0 ? ([], []) : await TopAsync(connection, query.ProjectId, regions, from, to, query.Top, cancellationToken);
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

    /// <summary>
    /// The principals and source IPs with the most HTTP 403, then the most events. The 403s are
    /// few and read through the status index; the events of the candidates are then counted
    /// through the principal and source IP indexes. Only when fewer values than asked had a 403
    /// (or ties run long) is every event of the range read, keys first from the time index
    /// (materialized, so that no planner trades the range for a scan of the project), then by
    /// primary key.
    /// </summary>
    private static async Task<(IReadOnlyList<ActivityCount> Principals, IReadOnlyList<ActivityCount> Sources)> TopAsync(
        DbConnection connection, string projectId, IReadOnlyCollection<string> regions, long from, long to, int top, CancellationToken cancellationToken)
    {
        const int maxCandidates = 200;
        var (principals, sources) = await GroupAsync(connection, projectId, regions, from, to, forbiddenOnly: true, cancellationToken);
        var principalCandidates = Candidates(principals, top);
        var sourceCandidates = Candidates(sources, top);
        if (principalCandidates is { Count: <= maxCandidates } && sourceCandidates is { Count: <= maxCandidates })
        {
            await CountEventsAsync(connection, "principal_id", projectId, regions, from, to, principalCandidates, principals, cancellationToken);
            await CountEventsAsync(connection, "source_ip", projectId, regions, from, to, sourceCandidates, sources, cancellationToken);
            return (Best(principals, principalCandidates, top), Best(sources, sourceCandidates, top));
        }

        (principals, sources) = await GroupAsync(connection, projectId, regions, from, to, forbiddenOnly: false, cancellationToken);
        return (Best(principals, principals.Keys, top), Best(sources, sources.Keys, top));
    }

    /// <summary>The values that can be in the top by 403 count (ties at the last place included); null when fewer values than asked had a 403.</summary>
    private static List<string>? Candidates(Dictionary<string, (long Events, long Forbidden)> forbidden, int top)
    {
        if (forbidden.Count < top)
        {
            return null;
        }

        var threshold = forbidden.Values.Select(static c => c.Forbidden).OrderDescending().ElementAt(top - 1);
        return [.. forbidden.Where(c => c.Value.Forbidden >= threshold).Select(static c => c.Key)];
    }

    private static IReadOnlyList<ActivityCount> Best(Dictionary<string, (long Events, long Forbidden)> counts, IEnumerable<string> candidates, int top) =>
    [
        .. candidates.Select(k => (Key: k, Count: counts[k]))
            .OrderByDescending(static c => c.Count.Forbidden).ThenByDescending(static c => c.Count.Events).ThenBy(static c => c.Key, StringComparer.Ordinal)
            .Take(top).Select(static c => new ActivityCount(c.Key, c.Count.Events, c.Count.Forbidden)),
    ];

    /// <summary>Events and 403s per principal and per source IP in the range (only the 403s when <paramref name="forbiddenOnly"/>, then Events counts them too).</summary>
    private static async Task<(Dictionary<string, (long Events, long Forbidden)> Principals, Dictionary<string, (long Events, long Forbidden)> Sources)> GroupAsync(
        DbConnection connection, string projectId, IReadOnlyCollection<string> regions, long from, long to, bool forbiddenOnly, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("WITH k AS MATERIALIZED (SELECT region, seq FROM audit_events WHERE project_id = @p");
        Regions(command, sql, regions);
        sql.Append(forbiddenOnly ? " AND status_code = 403" : "")
            .Append(" AND recorded_at >= @from AND recorded_at < @to)")
            .Append(" SELECT e.principal_id, e.source_ip, COUNT(*), SUM(CASE WHEN e.status_code = 403 THEN 1 ELSE 0 END)")
            .Append(" FROM k JOIN audit_events e ON e.project_id = @p AND e.region = k.region AND e.seq = k.seq")
            .Append(" GROUP BY e.principal_id, e.source_ip");
        AddParameter(command, "@p", projectId);
        AddParameter(command, "@from", from);
        AddParameter(command, "@to", to);
        command.CommandText = sql.ToString();
        var principals = new Dictionary<string, (long Events, long Forbidden)>(StringComparer.Ordinal);
        var sources = new Dictionary<string, (long Events, long Forbidden)>(StringComparer.Ordinal);
        static void Add(Dictionary<string, (long Events, long Forbidden)> counts, string key, long events, long forbidden) =>
            counts[key] = counts.TryGetValue(key, out var c) ? (c.Events + events, c.Forbidden + forbidden) : (events, forbidden);

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var events = Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture);
            var forbidden = Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture);
            if (!reader.IsDBNull(0))
            {
                Add(principals, reader.GetString(0), events, forbidden);
            }

            if (!reader.IsDBNull(1))
            {
                Add(sources, reader.GetString(1), events, forbidden);
            }
        }

        return (principals, sources);
    }

    /// <summary>
    /// Sets the events of each candidate in the range, through the (project, region, column,
    /// status_code, recorded_at) index: every status code the regions hold is listed, so that each
    /// (region, value, status) is one seek to the range rather than a scan of the value's events.
    /// </summary>
    private static async Task CountEventsAsync(DbConnection connection, string column, string projectId, IReadOnlyCollection<string> regions, long from, long to,
        List<string> candidates, Dictionary<string, (long Events, long Forbidden)> counts, CancellationToken cancellationToken)
    {
        if (candidates.Count == 0)
        {
            return;
        }

        var statuses = new SortedSet<int>();
        foreach (var codes in await AuditLogQueries.StatusesAsync(connection, projectId, [.. regions], null, cancellationToken))
        {
            statuses.UnionWith(codes);
        }

        if (statuses.Count == 0)
        {
            return;
        }

        await using var command = connection.CreateCommand();
        var sql = new StringBuilder().Append(CultureInfo.InvariantCulture, $"SELECT {column}, COUNT(*) FROM audit_events WHERE project_id = @p");
        Regions(command, sql, regions);
        sql.Append(" AND status_code IN (");
        var n = 0;
        foreach (var status in statuses)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"@st{n}");
            sql.Append(n == 0 ? name : ", " + name);
            AddParameter(command, name, status);
            n++;
        }

        sql.Append(')');
        sql.Append(CultureInfo.InvariantCulture, $" AND {column} IN (");
        for (var i = 0; i < candidates.Count; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"@v{i}");
            sql.Append(i == 0 ? name : ", " + name);
            AddParameter(command, name, candidates[i]);
        }

        sql.Append(") AND recorded_at >= @from AND recorded_at < @to");

        sql.Append(CultureInfo.InvariantCulture, $" GROUP BY {column}");
        AddParameter(command, "@p", projectId);
        AddParameter(command, "@from", from);
        AddParameter(command, "@to", to);
        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = reader.GetString(0);
            counts[key] = (Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture), counts[key].Forbidden);
        }
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
