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

    /// <summary>One page of events matching a query (at most <see cref="AuditQuery.PageSize"/> events and <see cref="MaxPageChars"/> of JSON).</summary>
    /// <remarks>
    /// Without a region, and without a filter whose index leads with it (principal, source IP,
    /// method, resource), the page is read region by region through the (project, region, ...)
    /// indexes, keys first, and merged: one query over every region would read the project's whole
    /// log through the primary key (seconds with a million events). The pages are the same.
    /// </remarks>
    public async Task<AuditPage> QueryAsync(AuditQuery query, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var pageSize = Math.Clamp(query.PageSize, 1, QueryLimits.MaxPageSize);
        var token = query.ContinuationToken is null ? null : PageToken.Parse(query.ContinuationToken);
        var after = token?.After ?? DbTime.ToMicros(query.RecordedAfter ?? now.AddHours(-1));
        var before = token?.Before ?? DbTime.ToMicros(query.RecordedBefore ?? now);
        var newestFirst = query.Order == SortOrder.NewestFirst;

        await using var connection = await database.OpenAsync(cancellationToken);
        var perRegion = query.Region is null && query.PrincipalId is null && query.SourceIp is null && query.MethodName is null && query.ResourceId is null;
        if (!perRegion)
        {
            await using var command = connection.CreateCommand();
            var sql = new StringBuilder("SELECT e.project_id, e.region, e.seq, e.payload, e.ingested_at, e.hash, e.recorded_at FROM audit_events e");
            Where(command, sql, query, query.Region, token, after, before, newestFirst);
            var direction = newestFirst ? "DESC" : "ASC";
            sql.Append(CultureInfo.InvariantCulture, $" ORDER BY e.recorded_at {direction}, e.region {direction}, e.seq {direction} LIMIT @limit");
            AddParameter(command, "@limit", pageSize + 1);
            command.CommandText = sql.ToString();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await PageAsync(Rows(reader, cancellationToken), pageSize, after, before, cancellationToken);
        }

        // Keys of the next rows of each region, merged in the page's order.
        var keys = new List<(long RecordedAt, string Region, long Sequence)>();
        foreach (var region in await RegionsAsync(connection, query.ProjectId, cancellationToken))
        {
            await using var command = connection.CreateCommand();
            var sql = new StringBuilder("SELECT e.recorded_at, e.seq FROM audit_events e");
            Where(command, sql, query, region, token, after, before, newestFirst);
            var direction = newestFirst ? "DESC" : "ASC";
            sql.Append(CultureInfo.InvariantCulture, $" ORDER BY e.recorded_at {direction}, e.seq {direction} LIMIT @limit");
            AddParameter(command, "@limit", pageSize + 1);
            command.CommandText = sql.ToString();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                keys.Add((reader.GetInt64(0), region, reader.GetInt64(1)));
            }
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

    private static void Filter(DbCommand command, StringBuilder sql, string column, string name, string? value)
    {
        if (value is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {column} = {name}");
            AddParameter(command, name, value);
        }
    }

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
