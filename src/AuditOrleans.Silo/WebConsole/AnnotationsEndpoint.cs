using System.Globalization;
using System.Text.Json;
using AuditOrleans.Grains;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// <c>GET /api/annotations?from=..&amp;to=..</c>: alert firings as Grafana annotations, for the
/// Infinity data source (yesoreyeram-infinity-datasource, JSON): an array of
/// <c>{time, timeEnd, title, text, tags, ...}</c>, times in epoch milliseconds, each firing's time
/// frame from <c>time</c> to <c>timeEnd</c>, tags comma-separated. deploy/grafana's dashboard reads it. <c>from</c> and <c>to</c> are epoch milliseconds (Grafana's
/// <c>${__from}</c> and <c>${__to}</c>) or ISO 8601; optional <c>project_id</c> (Owner keys: every
/// project when absent), <c>region</c>, <c>alert</c> and <c>include_tests=true</c>. The same
/// authentication as <c>/metrics</c> (<c>Authorization: Bearer &lt;key&gt;</c>, or a console
/// session); the key needs ViewAlertHistory on the project.
/// </summary>
public static class AnnotationsEndpoint
{
    public const string Path = "/api/annotations";

    /// <summary>The range when the query gives none.</summary>
    public static readonly TimeSpan DefaultRange = TimeSpan.FromDays(1);

    /// <summary>Maps <c>GET /api/annotations</c>.</summary>
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet(Path, (HttpContext context, IGrainFactory grains, IOptions<AuditOrleansOptions> options) => AnswerAsync(context, grains, options.Value));

    private static async Task<IResult> AnswerAsync(HttpContext context, IGrainFactory grains, AuditOrleansOptions options)
    {
        var outcome = await context.RequestServices.GetRequiredService<ConsoleAuthenticator>().AuthenticateAsync(context);
        if (outcome.User is not { } user)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"AuditOrleans\"";
            return Results.Text((outcome.Problem ?? "Send an API key: Authorization: Bearer <key>.") + "\n", statusCode: StatusCodes.Status401Unauthorized);
        }

        var q = context.Request.Query;
        var errors = new List<string>();
        var to = Time(q["to"], "to", errors) ?? DateTimeOffset.UtcNow;
        var from = Time(q["from"], "from", errors) ?? to - DefaultRange;
        if (from > to)
        {
            errors.Add("from is later than to: swap them.");
        }

        string? region = null;
        if (PageRequest.Text(q["region"]) is { } regionText && (region = Scope.NormalizeRegion(regionText, options.Regions)) is null)
        {
            errors.Add(Scope.DescribeUnknownRegion(regionText, options.Regions));
        }

        AlertName? alert = null;
        if (PageRequest.Text(q["alert"]) is { } alertText)
        {
            if (AlertCatalog.TryParse(alertText, out var parsed))
            {
                alert = parsed;
            }
            else
            {
                errors.Add($"'{Scope.Printable(alertText)}' is not an alert. Valid names: {AlertCatalog.ValidNames}.");
            }
        }

        var requested = PageRequest.Text(q["project_id"]);
        if (requested is not null && !Scope.IsValidProjectId(requested))
        {
            errors.Add(Scope.DescribeProjectIdRule(requested));
        }

        if (errors.Count > 0)
        {
            return Results.Text(string.Join("\n", errors) + "\n", statusCode: StatusCodes.Status400BadRequest);
        }

        var log = grains.GetGrain<IAuditLogGrain>(0);
        IReadOnlyList<string> projects = requested is not null ? [requested]
            : user.ProjectId is not null ? [user.ProjectId]
            : await log.ListProjectsAsync(QueryLimits.MaxProjects);
        foreach (var project in projects)
        {
            if (!user.Can(Permission.ViewAlertHistory, project))
            {
                return Results.Text($"Your key ({user.Role}) does not have the ViewAlertHistory permission on project '{project}'.\n", statusCode: StatusCodes.Status403Forbidden);
            }
        }

        var includeTests = string.Equals(PageRequest.Text(q["include_tests"]), "true", StringComparison.OrdinalIgnoreCase);
        var firings = new List<FiredAlert>();
        foreach (var project in projects)
        {
            // A firing's time frame may start before it was triggered: look back by the longest frame.
            var history = await log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project, Region = region, Alert = alert, TriggeredAfter = from - AlertCatalog.ForbiddenWindow, Limit = QueryLimits.MaxAlertHistory });
            firings.AddRange(history.Where(a => (includeTests || !a.IsTest) && a.WindowEnd >= from && a.WindowStart <= to));
        }

        var baseUrl = options.Console.BaseUrl.TrimEnd('/');
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var a in firings.OrderBy(static a => a.WindowStart))
            {
                Write(w, a, baseUrl);
            }

            w.WriteEndArray();
        }

        return Results.Bytes(buffer.ToArray(), "application/json; charset=utf-8");
    }

    /// <summary>One annotation: Grafana maps time, timeEnd, title, text and tags by name; the rest is for whoever reads the JSON.</summary>
    public static void Write(Utf8JsonWriter w, FiredAlert a, string baseUrl)
    {
        var definition = AlertCatalog.Describe(a);
        var facts = new List<string>();
        if (a.Facts.ForbiddenCount is { } count)
        {
            facts.Add(string.Create(CultureInfo.InvariantCulture, $"{count} HTTP 403 in {AlertCatalog.ForbiddenWindow.TotalMinutes} minutes"));
        }

        if (a.Facts.TopPrincipals.Count > 0)
        {
            facts.Add("top principals " + string.Join(", ", a.Facts.TopPrincipals.Select(static p => $"{p.Value} ({p.Count})")));
        }

        if (a.Facts.TopSourceIps.Count > 0)
        {
            facts.Add("top source IPs " + string.Join(", ", a.Facts.TopSourceIps.Select(static p => $"{p.Value} ({p.Count})")));
        }

        if (a.Facts.MethodName is not null)
        {
            facts.Add($"{a.Facts.MethodName} → {a.Facts.StatusCode} by {a.Facts.PrincipalId ?? "anonymous"} from {a.Facts.SourceIp ?? "no IP"}");
        }

        if (a.Facts.ApiKeyId is not null)
        {
            facts.Add($"API key {a.Facts.ApiKeyId}");
        }

        var timeline = IncidentLink.For(baseUrl, a);
        w.WriteStartObject();
        w.WriteNumber("time", a.WindowStart.ToUnixTimeMilliseconds());
        w.WriteNumber("timeEnd", a.WindowEnd.ToUnixTimeMilliseconds());
        w.WriteString("title", $"{(a.IsTest ? "[TEST] " : "")}{a.Alert} ({a.Severity}) in {a.ProjectId}/{a.Region}");
        w.WriteString("text", $"{definition.Description} {string.Join("; ", facts)}{(facts.Count == 0 ? "" : ". ")}Triggered at {AuditEventJson.FormatTime(a.TriggeredAt)}. Timeline: {timeline}");
        // Comma-separated, as Grafana splits an annotation's tags field (an array is not a column type of Infinity).
        w.WriteString("tags", string.Join(',', "auditorleans", a.Alert.ToString(), a.Severity.ToString().ToLowerInvariant(), a.Region, a.ProjectId));
        w.WriteString("id", a.Id);
        w.WriteString("project_id", a.ProjectId);
        w.WriteString("region", a.Region);
        w.WriteString("alert", a.Alert.ToString());
        w.WriteString("severity", a.Severity.ToString());
        w.WriteString("triggered_at", AuditEventJson.FormatTime(a.TriggeredAt));
        w.WriteBoolean("is_test", a.IsTest);
        w.WriteString("timeline_url", timeline);
        w.WriteString("audit_trail_url", AuditTrailLink.For(baseUrl, a));
        w.WriteEndObject();
    }

    /// <summary>Epoch milliseconds (as Grafana sends them) or ISO 8601.</summary>
    private static DateTimeOffset? Time(Microsoft.Extensions.Primitives.StringValues value, string name, List<string> errors)
    {
        if (PageRequest.Text(value) is not { } text)
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms <= 253_402_300_799_999)
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }

        if (AuditEventJson.ParseTime(text) is { } time)
        {
            return time;
        }

        errors.Add($"{name} '{Scope.Printable(text)}' is neither epoch milliseconds (Grafana's ${{__{name}}}) nor an ISO 8601 time.");
        return null;
    }
}
