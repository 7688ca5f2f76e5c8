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
    public async Task<AuditPage> QueryAsync(AuditQuery query, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var pageSize = Math.Clamp(query.PageSize, 1, QueryLimits.MaxPageSize);
        var token = query.ContinuationToken is null ? null : PageToken.Parse(query.ContinuationToken);
        var after = token?.After ?? DbTime.ToMicros(query.RecordedAfter ?? now.AddHours(-1));
        var before = token?.Before ?? DbTime.ToMicros(query.RecordedBefore ?? now);
        var newestFirst = query.Order == SortOrder.NewestFirst;

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT e.project_id, e.region, e.seq, e.payload, e.ingested_at, e.hash, e.recorded_at FROM audit_events e");
        if (query.ResourceId is not null)
        {
            sql.Append(" JOIN audit_event_resources x ON x.project_id = e.project_id AND x.region = e.region AND x.seq = e.seq AND x.resource_id = @resource");
            AddParameter(command, "@resource", query.ResourceId);
        }

        sql.Append(" WHERE e.project_id = @p AND e.recorded_at >= @after AND e.recorded_at <= @before");
        AddParameter(command, "@p", query.ProjectId);
        AddParameter(command, "@after", after);
        AddParameter(command, "@before", before);
        Filter(command, sql, "e.region", "@region", query.Region);
        Filter(command, sql, "e.principal_id", "@principal", query.PrincipalId);
        Filter(command, sql, "e.source_ip", "@ip", query.SourceIp);
        Filter(command, sql, "e.method_name", "@method", query.MethodName);
        Filter(command, sql, "e.product_name", "@product", query.ProductName);
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
            sql.Append(newestFirst
                ? " AND (e.recorded_at < @ta OR (e.recorded_at = @ta AND (e.region < @tr OR (e.region = @tr AND e.seq < @ts))))"
                : " AND (e.recorded_at > @ta OR (e.recorded_at = @ta AND (e.region > @tr OR (e.region = @tr AND e.seq > @ts))))");
            AddParameter(command, "@ta", token.RecordedAt);
            AddParameter(command, "@tr", token.Region);
            AddParameter(command, "@ts", token.Sequence);
        }

        var direction = newestFirst ? "DESC" : "ASC";
        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY e.recorded_at {direction}, e.region {direction}, e.seq {direction} LIMIT @limit");
        AddParameter(command, "@limit", pageSize + 1);
        command.CommandText = sql.ToString();

        var records = new List<AuditRecord>(pageSize);
        string? next = null;
        long chars = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var payload = reader.GetString(3);
            if (records.Count == pageSize || (records.Count > 0 && chars + payload.Length > MaxPageChars))
            {
                var last = records[^1];
                next = new PageToken(after, before, DbTime.ToMicros(last.Event.RecordedAt!.Value), last.Region, last.Sequence).Format();
                break;
            }

            chars += payload.Length;
            records.Add(new AuditRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetInt64(2),
                AuditEventJson.Parse(payload),
                DbTime.FromMicros(reader.GetInt64(4)),
                reader.GetString(5)));
        }

        return new AuditPage(records, next);
    }

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
