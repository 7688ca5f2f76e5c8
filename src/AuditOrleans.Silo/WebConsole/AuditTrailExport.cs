using System.Globalization;
using System.Text;
using AuditOrleans.Grains;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// <c>/audit-trail/export?format=jsonl|csv&amp;...</c>: every event matching the Audit Trail's
/// filters (all pages, oldest first), as a download. JSON lines are the provider's format exactly
/// as Export-AuditEvent writes them (<see cref="AuditEventJson.SerializeRecord"/>), so the file
/// goes back through Send-AuditEvent; CSV has one column per field, resources and request body
/// as JSON. The same sign-in and permission (ViewEvents on the project) as the page.
/// </summary>
public static class AuditTrailExport
{
    public const string Path = "/audit-trail/export";

    /// <summary>The CSV columns, in order.</summary>
    public static readonly IReadOnlyList<string> CsvColumns =
    [
        "recorded_at", "id", "project_id", "region", "locality", "organization_id", "principal_id", "source_ip", "user_agent",
        "product_name", "service_name", "method_name", "status_code", "request_id", "resources", "request_body",
        "kind", "result", "failure_reason", "method", "origin", "mfa_type", "country_code", "system_kind", "source", "system_name",
    ];

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Maps <c>GET /audit-trail/export</c>.</summary>
    public static void Map(IEndpointRouteBuilder app, AuditOrleansOptions options) =>
        app.MapGet(Path, (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => ExportAsync(page, grains, options)));

    private static async Task<IResult> ExportAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Download events";
        var format = PageRequest.Text(page.Context.Request.Query["format"])?.ToLowerInvariant();
        if (format is not ("jsonl" or "csv"))
        {
            return ConsoleLayout.Problem(page, title, "Choose a format: format=jsonl (JSON lines, as Export-AuditEvent writes them) or format=csv.", StatusCodes.Status400BadRequest, ConsoleTab.AuditTrail);
        }

        var filters = AuditTrailPage.Filters.From(page.Context.Request.Query);
        var (projectId, problem, status) = PageRequest.ResolveProject(page, filters.ProjectId, Permission.ViewEvents);
        if (projectId is null)
        {
            return ConsoleLayout.Problem(page, title, problem ?? "Name the project: project_id=...", problem is null ? StatusCodes.Status400BadRequest : status, ConsoleTab.AuditTrail);
        }

        var (parsed, errors) = AuditTrailPage.Parse(filters with { Continuation = null, PageSize = null }, projectId, options.Regions);
        if (parsed is null)
        {
            return ConsoleLayout.Problem(page, title, string.Join(" ", errors), StatusCodes.Status400BadRequest, ConsoleTab.AuditTrail);
        }

        // The range is fixed now, so that every page reads the same one (the default is the last hour).
        var now = DateTimeOffset.UtcNow;
        var before = parsed.RecordedBefore ?? now;
        var query = parsed with
        {
            RecordedAfter = parsed.RecordedAfter ?? before.AddHours(-1),
            RecordedBefore = before,
            Order = SortOrder.OldestFirst,
            PageSize = QueryLimits.MaxPageSize,
        };
        var log = grains.GetGrain<IAuditLogGrain>(0);
        AuditPage first;
        try
        {
            first = await log.QueryAsync(query);
        }
        catch (ArgumentException ex)
        {
            return ConsoleLayout.Problem(page, title, ex.Message, StatusCodes.Status400BadRequest, ConsoleTab.AuditTrail);
        }

        var name = string.Create(CultureInfo.InvariantCulture,
            $"audit-{projectId}-{query.RecordedAfter!.Value.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{query.RecordedBefore!.Value.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}.{format}");
        var csv = format == "csv";
        var aborted = page.Context.RequestAborted;
        return Results.Stream(async stream =>
        {
            await using var writer = new StreamWriter(stream, Utf8, 64 * 1024) { NewLine = "\n" };
            if (csv)
            {
                await writer.WriteLineAsync(string.Join(',', CsvColumns));
            }

            var current = first;
            while (true)
            {
                foreach (var record in current.Records)
                {
                    await writer.WriteLineAsync(csv ? CsvLine(record) : AuditEventJson.SerializeRecord(record));
                }

                await writer.FlushAsync(aborted);
                if (current.ContinuationToken is not { } token || aborted.IsCancellationRequested)
                {
                    break;
                }

                current = await log.QueryAsync(query with { ContinuationToken = token });
            }
        }, csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8", name);
    }

    /// <summary>One event as a CSV line (RFC 4180 quoting; a cell that a spreadsheet would run as a formula starts with a quote mark).</summary>
    public static string CsvLine(AuditRecord record)
    {
        var e = record.Event;
        string?[] cells =
        [
            e.RecordedAt is { } at ? AuditEventJson.FormatTime(at) : null,
            e.Id,
            e.ProjectId ?? record.ProjectId,
            record.Region,
            e.Locality,
            e.OrganizationId,
            e.PrincipalId,
            e.SourceIp,
            e.UserAgent,
            e.ProductName,
            e.ServiceName,
            e.MethodName,
            e.StatusCode?.ToString(CultureInfo.InvariantCulture),
            e.RequestId,
            e.Resources is { } resources ? AuditEventJson.SerializeResources(resources) : null,
            e.RequestBody,
            EventKinds.ToColumn(e.Kind),
            e.Result,
            e.FailureReason,
            e.Method,
            e.Origin,
            e.MfaType,
            e.CountryCode,
            e.SystemKind,
            e.Source,
            e.SystemName,
        ];
        return string.Join(',', cells.Select(Cell));
    }

    private static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        // OWASP CSV injection: =, +, -, @, tab and carriage return start a formula in spreadsheets.
        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
