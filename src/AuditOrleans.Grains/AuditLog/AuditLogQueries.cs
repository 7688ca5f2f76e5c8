using AuditOrleans.Grains.Storage;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// Reads the audit log: filtered, indexed pages newest first with continuation tokens
/// (docs/events.md, Queries).
/// </summary>
public sealed class AuditLogQueries(AuditDatabase database)
{
    /// <summary>
    /// Most characters of stored JSON in one page: a page of large events ends early (with a
    /// continuation token) so that an answer stays far below Orleans' message size limit.
    /// </summary>
    public const int MaxPageChars = 8 * 1024 * 1024;

    /// <summary>Most status codes of a region read as ranges of their own (see <see cref="QueryAsync"/>).</summary>
    public const int MaxStatusRanges = 48;

    /// <summary>One page of events matching a query (at most <see cref="AuditQuery.PageSize"/> events and <see cref="MaxPageChars"/> of JSON).</summary>
    /// <remarks>
    /// The page is read keys first, one index range per region (the query's, or each region of the
    /// project) and merged in the page's order, then its rows by primary key. Every index of the log
    /// leads with (project, region) (deploy/sql/*/008-query-indexes.sql), and the indexes of the
    /// principal, source IP and method go on with the status code before the time: a filter on one
    /// of them, with or without a status, is an index range already in the page's order, whatever
    /// the value. Without a status, each status code the region holds (a few, read by skipping
    /// through the status index) is one more range, merged with the others. One query over every
    /// region, or over a filter's whole time range, reads the project's whole log when the value is
    /// rare (seconds with a million events). The pages are the same.
    /// </remarks>
    public async Task<AuditPage> QueryAsync(AuditQuery query, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var pageSize = Math.Clamp(query.PageSize, 1, QueryLimits.MaxPageSize);
        var token = query.ContinuationToken is null ? null : PageToken.Parse(query.ContinuationToken);
        var after = token?.After ?? DbTime.ToMicros(query.RecordedAfter ?? now.AddHours(-1));
        var before = token?.Before ?? DbTime.ToMicros(query.RecordedBefore ?? now);
        var newestFirst = query.Order == SortOrder.NewestFirst;
        var direction = newestFirst ? "DESC" : "ASC";
        var splitByStatus = query.StatusCode is null && (query.PrincipalId is not null || query.SourceIp is not null || query.MethodName is not null);

        await using var connection = await database.OpenAsync(cancellationToken);
        IReadOnlyList<string> regions = query.Region is { } one ? [one] : await RegionsAsync(connection, query.ProjectId, cancellationToken);
        var ranges = new List<(string Region, int? Status)>();
        if (splitByStatus)
        {
            foreach (var (region, statuses) in regions.Zip(await StatusesAsync(connection, query.ProjectId, regions, query.StatusClass, cancellationToken)))
            {
                // A region that holds unusually many status codes (a client may send any from 100
                // to 599) is read as one range, sorted by the database: slower, never wrong.
                if (statuses.Count > MaxStatusRanges)
                {
                    ranges.Add((region, null));
                }
                else
                {
                    ranges.AddRange(statuses.Select(status => (region, (int?)status)));
                }
            }
        }
        else
        {
            ranges.AddRange(regions.Select(static region => (region, (int?)null)));
        }

        // Keys of the next rows of each range (one statement each, sent together), merged in the page's order.
        var keys = new List<(long RecordedAt, string Region, long Sequence)>();
        if (ranges.Count > 0)
        {
            await using var command = connection.CreateCommand();
            var where = new StringBuilder();
            Where(command, where, query, null, token, after, before, newestFirst);
            AddParameter(command, "@limit", pageSize + 1);
            var sql = new StringBuilder();
            for (var i = 0; i < ranges.Count; i++)
            {
                var (region, status) = ranges[i];
                sql.Append(CultureInfo.InvariantCulture, $"SELECT e.recorded_at, e.seq FROM audit_events e{where} AND e.region = @r{i}");
                AddParameter(command, string.Create(CultureInfo.InvariantCulture, $"@r{i}"), region);
                if (status is { } code)
                {
                    sql.Append(CultureInfo.InvariantCulture, $" AND e.status_code = @s{i}");
                    AddParameter(command, string.Create(CultureInfo.InvariantCulture, $"@s{i}"), code);
                }

                sql.Append(CultureInfo.InvariantCulture, $" ORDER BY e.recorded_at {direction}, e.seq {direction} LIMIT @limit;");
            }

            command.CommandText = sql.ToString();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var range = 0;
            do
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    keys.Add((reader.GetInt64(0), ranges[range].Region, reader.GetInt64(1)));
                }

                range++;
            }
            while (await reader.NextResultAsync(cancellationToken));
        }

        var ordered = keys
            .OrderBy(static k => k.RecordedAt).ThenBy(static k => k.Region, StringComparer.Ordinal).ThenBy(static k => k.Sequence)
            .ToList();
        if (newestFirst)
        {
            ordered.Reverse();
        }

        ordered = ordered.Take(pageSize + 1).ToList();
        return await PageAsync(FetchAsync(connection, query.ProjectId, ordered, cancellationToken), pageSize, after, before, cancellationToken);
    }

    /// <summary>
    /// The status codes each region of a project holds (within a status class when given), by
    /// skipping through the status index: one seek per code, one statement per region, sent together.
    /// </summary>
    internal static async Task<List<List<int>>> StatusesAsync(DbConnection connection, string projectId, IReadOnlyList<string> regions, int? statusClass, CancellationToken cancellationToken)
    {
        var result = new List<List<int>>(regions.Count);
        if (regions.Count == 0)
        {
            return result;
        }

        await using var command = connection.CreateCommand();
        AddParameter(command, "@p", projectId);
        AddParameter(command, "@lo", statusClass is { } c ? c * 100 : 0);
        AddParameter(command, "@hi", statusClass is { } d ? (d * 100) + 99 : 999);
        var sql = new StringBuilder();
        for (var i = 0; i < regions.Count; i++)
        {
            var r = string.Create(CultureInfo.InvariantCulture, $"@r{i}");
            sql.Append("WITH RECURSIVE s(code) AS (SELECT MIN(status_code) FROM audit_events WHERE project_id = @p AND region = ").Append(r).Append(" AND status_code >= @lo")
                .Append(" UNION ALL SELECT (SELECT MIN(e.status_code) FROM audit_events e WHERE e.project_id = @p AND e.region = ").Append(r)
                .Append(" AND e.status_code > s.code) FROM s WHERE s.code IS NOT NULL AND s.code <= @hi)")
                .Append(" SELECT code FROM s WHERE code IS NOT NULL AND code <= @hi;");
            AddParameter(command, r, regions[i]);
        }

        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        do
        {
            var statuses = new List<int>();
            while (await reader.ReadAsync(cancellationToken))
            {
                statuses.Add(Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture));
            }

            result.Add(statuses);
        }
        while (await reader.NextResultAsync(cancellationToken));

        return result;
    }

    /// <summary>Builds a page from rows in order: at most <paramref name="pageSize"/> records and <see cref="MaxPageChars"/> of JSON, with the token of the next.</summary>
    private static async Task<AuditPage> PageAsync(IAsyncEnumerable<StoredRow> rows, int pageSize, long after, long before, CancellationToken cancellationToken)
    {
        var records = new List<AuditRecord>(pageSize);
        string? next = null;
        long chars = 0;
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            if (records.Count == pageSize || (records.Count > 0 && chars + row.Payload.Length > MaxPageChars))
            {
                var last = records[^1];
                next = new PageToken(after, before, DbTime.ToMicros(last.Event.RecordedAt!.Value), last.Region, last.Sequence).Format();
                break;
            }

            chars += row.Payload.Length;
            records.Add(new AuditRecord(row.ProjectId, row.Region, row.Sequence, AuditEventJson.Parse(row.Payload), DbTime.FromMicros(row.IngestedAt), row.Hash));
        }

        return new AuditPage(records, next);
    }

    private static async IAsyncEnumerable<StoredRow> Rows(DbDataReader reader, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new StoredRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetInt64(4), reader.GetString(5));
        }
    }

    /// <summary>The rows of merged keys, in their order, read by primary key a bounded number at a time (their JSON may be large).</summary>
    private static async IAsyncEnumerable<StoredRow> FetchAsync(DbConnection connection, string projectId, List<(long RecordedAt, string Region, long Sequence)> keys,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const int chunk = 100;
        for (var start = 0; start < keys.Count; start += chunk)
        {
            var part = keys.Skip(start).Take(chunk).ToList();
            var rows = new Dictionary<(string, long), StoredRow>();
            foreach (var group in part.GroupBy(static k => k.Region, StringComparer.Ordinal))
            {
                await using var command = connection.CreateCommand();
                var sql = new StringBuilder("SELECT e.project_id, e.region, e.seq, e.payload, e.ingested_at, e.hash FROM audit_events e WHERE e.project_id = @p AND e.region = @r AND e.seq IN (");
                AddParameter(command, "@p", projectId);
                AddParameter(command, "@r", group.Key);
                var i = 0;
                foreach (var key in group)
                {
                    var name = string.Create(CultureInfo.InvariantCulture, $"@s{i}");
                    sql.Append(i == 0 ? name : ", " + name);
                    AddParameter(command, name, key.Sequence);
                    i++;
                }

                command.CommandText = sql.Append(')').ToString();
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                await foreach (var row in Rows(reader, cancellationToken))
                {
                    rows[(row.Region, row.Sequence)] = row;
                }
            }

            foreach (var key in part)
            {
                if (rows.TryGetValue((key.Region, key.Sequence), out var row))
                {
                    yield return row;
                }
            }
        }
    }

    /// <summary>The regions that hold events of a project, by skipping through the primary key (one seek per region).</summary>
    internal static async Task<List<string>> RegionsAsync(DbConnection connection, string projectId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null,
            "WITH RECURSIVE r(name) AS (SELECT MIN(region) FROM audit_events WHERE project_id = @p" +
            " UNION ALL SELECT (SELECT MIN(e.region) FROM audit_events e WHERE e.project_id = @p AND e.region > r.name) FROM r WHERE r.name IS NOT NULL)" +
            " SELECT name FROM r WHERE name IS NOT NULL",
            ("@p", projectId));
        var regions = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            regions.Add(reader.GetString(0));
        }

        return regions;
    }

    /// <summary>FROM's joins and the WHERE clause of a page: the project, the range, the filters, the position after the token.</summary>
    private static void Where(DbCommand command, StringBuilder sql, AuditQuery query, string? region, PageToken? token, long after, long before, bool newestFirst)
    {
        if (query.ResourceId is not null)
        {
            sql.Append(" JOIN audit_event_resources x ON x.project_id = e.project_id AND x.region = e.region AND x.seq = e.seq AND x.resource_id = @resource");
            AddParameter(command, "@resource", query.ResourceId);
        }

        sql.Append(" WHERE e.project_id = @p AND e.recorded_at >= @after AND e.recorded_at <= @before");
        AddParameter(command, "@p", query.ProjectId);
        AddParameter(command, "@after", after);
        AddParameter(command, "@before", before);
        Filter(command, sql, "e.region", "@region", region);
        Filter(command, sql, "e.principal_id", "@principal", query.PrincipalId);
        Filter(command, sql, "e.source_ip", "@ip", query.SourceIp);
        Filter(command, sql, "e.method_name", "@method", query.MethodName);
        Filter(command, sql, "e.product_name", "@product", query.ProductName);
        if (query.Kind is { } kind)
        {
            sql.Append(" AND e.kind = @kind");
            AddParameter(command, "@kind", EventKinds.ToColumn(kind));
        }

        if (query.StatusCode is { } status)
        {
            sql.Append(" AND e.status_code = @status");
            AddParameter(command, "@status", status);
        }

        if (query.StatusClass is { } statusClass)
        {
            sql.Append(" AND e.status_code >= @slo AND e.status_code <= @shi");
            AddParameter(command, "@slo", statusClass * 100);
            AddParameter(command, "@shi", (statusClass * 100) + 99);
        }

        if (token is not null)
        {
            // The first condition is implied by the second; it bounds the index range (later pages do not rescan earlier ones).
            sql.Append(newestFirst
                ? " AND e.recorded_at <= @ta AND (e.recorded_at < @ta OR (e.recorded_at = @ta AND (e.region < @tr OR (e.region = @tr AND e.seq < @ts))))"
                : " AND e.recorded_at >= @ta AND (e.recorded_at > @ta OR (e.recorded_at = @ta AND (e.region > @tr OR (e.region = @tr AND e.seq > @ts))))");
            AddParameter(command, "@ta", token.RecordedAt);
            AddParameter(command, "@tr", token.Region);
            AddParameter(command, "@ts", token.Sequence);
        }
    }

    private sealed record StoredRow(string ProjectId, string Region, long Sequence, string Payload, long IngestedAt, string Hash);

    /// <summary>Keyset position of a page, with the time range the first page resolved.</summary>
    private sealed record PageToken(long After, long Before, long RecordedAt, string Region, long Sequence)
    {
        public string Format() =>
            Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"v1|{After}|{Before}|{RecordedAt}|{Region}|{Sequence}")))
                .TrimEnd('=').Replace('+', '-').Replace('/', '_');

        public static PageToken Parse(string token)
        {
            try
            {
                var b64 = token.Replace('-', '+').Replace('_', '/');
                b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
                var parts = Encoding.UTF8.GetString(Convert.FromBase64String(b64)).Split('|');
                if (parts.Length == 6 && parts[0] == "v1")
                {
                    return new PageToken(
                        long.Parse(parts[1], CultureInfo.InvariantCulture),
                        long.Parse(parts[2], CultureInfo.InvariantCulture),
                        long.Parse(parts[3], CultureInfo.InvariantCulture),
                        parts[4],
                        long.Parse(parts[5], CultureInfo.InvariantCulture));
                }
            }
            catch (FormatException)
            {
            }
            catch (OverflowException)
            {
            }

            throw new ArgumentException("The continuation token is not valid: pass the token returned by the previous page of the same query.");
        }
    }
}
