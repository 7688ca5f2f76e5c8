using System.Globalization;
using AuditOrleans.Grains;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// <c>/audit-trail/event?project_id=..&amp;region=..&amp;seq=..</c> (or <c>&amp;id=..</c>): one event,
/// every field in full, its resources and request body indented, its place in its chain and
/// whether its link there verifies (and, on request, the whole chain), with links to the other
/// events of its principal, source IP and resources.
/// </summary>
public static class EventDetailPage
{
    public const string Path = "/audit-trail/event";

    /// <summary>How far around the event the filter links look.</summary>
    public static readonly TimeSpan Around = TimeSpan.FromDays(1);

    /// <summary>Maps <c>GET /audit-trail/event</c>.</summary>
    public static void Map(IEndpointRouteBuilder app, AuditOrleansOptions options) =>
        app.MapGet(Path, (HttpContext context, IGrainFactory grains) => PageRequest.WithUserAsync(context, page => ShowAsync(page, grains, options)));

    /// <summary>The page of a stored event.</summary>
    public static string Link(AuditRecord record) => ConsoleLayout.Link(
        Path,
        ("project_id", record.ProjectId),
        ("region", record.Region),
        ("seq", record.Sequence.ToString(CultureInfo.InvariantCulture)));

    private static async Task<IResult> ShowAsync(ConsolePage page, IGrainFactory grains, AuditOrleansOptions options)
    {
        const string title = "Event";
        var q = page.Context.Request.Query;
        var (projectId, problem, status) = PageRequest.ResolveProject(page, PageRequest.Text(q["project_id"]), Permission.ViewEvents);
        if (projectId is null)
        {
            return ConsoleLayout.Problem(page, title, problem ?? "Name the event: project_id with region and seq, or project_id with id.", problem is null ? StatusCodes.Status400BadRequest : status, ConsoleTab.AuditTrail);
        }

        var log = grains.GetGrain<IAuditLogGrain>(0);
        var eventId = PageRequest.Text(q["id"]);
        var regionText = PageRequest.Text(q["region"]);
        var seqText = PageRequest.Text(q["seq"]);
        AuditEventDetail? detail;
        if (eventId is not null && seqText is null)
        {
            if (eventId.Length > IngestLimits.MaxIdLength)
            {
                return ConsoleLayout.Problem(page, title, $"An event id has at most {IngestLimits.MaxIdLength} characters.", StatusCodes.Status400BadRequest, ConsoleTab.AuditTrail);
            }

            detail = await log.FindEventAsync(projectId, eventId);
        }
        else
        {
            var region = regionText is null ? null : Scope.NormalizeRegion(regionText, options.Regions);
            if (region is null || !long.TryParse(seqText, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || seq < 1)
            {
                var message = regionText is not null && region is null
                    ? Scope.DescribeUnknownRegion(regionText, options.Regions)
                    : "Name the event: region and seq (its position in the region's chain, from 1), or id.";
                return ConsoleLayout.Problem(page, title, message, StatusCodes.Status400BadRequest, ConsoleTab.AuditTrail);
            }

            detail = await log.GetEventAsync(projectId, region, seq);
        }

        if (detail is null)
        {
            // The same answer whether the project has no such event or does not exist.
            return ConsoleLayout.Problem(page, title, $"Project '{projectId}' has no such event (it was never recorded, or retention purged it).", StatusCodes.Status404NotFound, ConsoleTab.AuditTrail);
        }

        var chain = Html.Empty;
        if (PageRequest.Text(q["verify"]) == "chain")
        {
            chain = page.User!.Can(Permission.VerifyIntegrity, projectId)
                ? ChainReport(detail, await log.VerifyAsync(projectId, detail.Record.Region))
                : ConsoleLayout.Error($"Your key ({page.User.Role}) does not have the VerifyIntegrity permission on project '{projectId}'.");
        }

        var body = Render(page, detail, chain);
        return ConsoleLayout.Render(page, title + " " + (detail.Record.Event.Id ?? ""), ConsoleTab.AuditTrail, body, projectId, detail.Record.Region);
    }

    private static Html Render(ConsolePage page, AuditEventDetail detail, Html chainReport)
    {
        var r = detail.Record;
        var e = r.Event;
        var at = e.RecordedAt ?? r.IngestedAt;
        string Filter(string name, string value) => ConsoleLayout.Link(
            "/audit-trail",
            ("project_id", r.ProjectId),
            (name, value),
            ("recorded_after", AuditEventJson.FormatTime(at - Around)),
            ("recorded_before", AuditEventJson.FormatTime(at + Around)));
        Html FilterLink(string? value, string name, string what) =>
            string.IsNullOrEmpty(value) ? Html.Empty : Html.Of($" <a class=\"filter\" href=\"{Filter(name, value)}\">Events of this {what}, a day either side</a>");

        var fields = new List<(string Name, Html Value)>
        {
            ("Event id", Html.Of($"<code>{e.Id}</code>")),
            ("Recorded at", Html.Of($"{ConsoleFormat.Time(at)} <span class=\"hint\">{(e.RecordedAt is { } t ? AuditEventJson.FormatTime(t) : "not sent: the time of ingestion")}</span>")),
            ("Ingested at", ConsoleFormat.Time(r.IngestedAt)),
            ("Project", Html.Of($"<code>{r.ProjectId}</code>")),
            ("Organization", Or(e.OrganizationId)),
            ("Region", Html.Of($"{r.Region}{(e.Locality is null || e.Locality == r.Region ? Html.Empty : Html.Of($" <span class=\"hint\">(locality {e.Locality})</span>"))}")),
            ("Principal", Html.Of($"{Or(e.PrincipalId, "anonymous")}{FilterLink(e.PrincipalId, "principal", "principal")}")),
            ("Source IP", Html.Of($"{Or(e.SourceIp)}{FilterLink(e.SourceIp, "source_ip", "source IP")}")),
            ("User agent", Html.Of($"<span class=\"full\">{Or(e.UserAgent)}</span>")),
            ("Product", Html.Of($"{Or(e.ProductName)}{FilterLink(e.ProductName, "product", "product")}")),
            ("Service", Or(e.ServiceName)),
            ("Method", Html.Of($"{Or(e.MethodName)}{FilterLink(e.MethodName, "method_name", "method")}")),
            ("Status", ConsoleFormat.Status(e.StatusCode)),
            ("Request id", Or(e.RequestId)),
        };
        if (e.Kind != EventKind.Api)
        {
            // Authentication and system events (docs/events.md, Event kinds): their own fields instead of the API's.
            fields.RemoveAll(static f => f.Name is "Service" or "Method" or "Status" or "Request id");
            fields.Insert(1, ("Kind", Html.Of($"{e.Kind}")));
            (string, string?)[] own = e.Kind == EventKind.Authentication
                ? [("Result", e.Result), ("Failure reason", e.FailureReason), ("Sign-in method", e.Method), ("Origin", e.Origin), ("MFA type", e.MfaType), ("Country", e.CountryCode)]
                : [("System event kind", e.SystemKind), ("Source", e.Source), ("System name", e.SystemName)];
            fields.AddRange(own.Select(o => (o.Item1, Or(o.Item2))));
        }

        var fieldRows = fields.Select(static f => Html.Of($"<tr><th scope=\"row\">{f.Name}</th><td>{f.Value}</td></tr>"));

        var resources = e.Resources is { Count: > 0 } list
            ? Html.Of($"""
                <table class="resources">
                <thead><tr><th scope="col">Type</th><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Other events</th></tr></thead>
                <tbody>{list.Select(x => Html.Of($"<tr><td>{Or(x.Type)}{(IsApiKey(x) ? Html.Of($" <span class=\"tag\">API key</span>") : Html.Empty)}</td><td><code class=\"full\">{Or(x.Id)}</code></td><td class=\"full\">{Or(x.Name)}</td><td>{(string.IsNullOrEmpty(x.Id) ? Html.Empty : Html.Of($"<a href=\"{Filter("resource_id", x.Id)}\">Events on this {(IsApiKey(x) ? "key" : "resource")}</a>"))}</td></tr>"))}</tbody>
                </table>
                <pre class="json" aria-label="Resources as JSON"><code>{ConsoleFormat.PrettyJson(AuditEventJson.SerializeResources(list))}</code></pre>
                """)
            : Html.Of($"<p class=\"none\">No resource.</p>");
        var requestBody = e.RequestBody is null
            ? Html.Of($"<p class=\"none\">No request body was recorded.</p>")
            : Html.Of($"<pre class=\"json\" id=\"request-body\" aria-label=\"Request body\"><code>{ConsoleFormat.PrettyJson(e.RequestBody)}</code></pre>");

        var verifyLink = ConsoleLayout.Link(Path, ("project_id", r.ProjectId), ("region", r.Region), ("seq", r.Sequence.ToString(CultureInfo.InvariantCulture)), ("verify", "chain"));
        var neighbours = new List<Html>();
        if (r.Sequence > Math.Max(1, detail.PurgedThroughSequence + 1))
        {
            neighbours.Add(Html.Of($"<a href=\"{ConsoleLayout.Link(Path, ("project_id", r.ProjectId), ("region", r.Region), ("seq", (r.Sequence - 1).ToString(CultureInfo.InvariantCulture)))}\" rel=\"prev\">Previous event in the chain</a>"));
        }

        if (r.Sequence < detail.HeadSequence)
        {
            neighbours.Add(Html.Of($"<a href=\"{ConsoleLayout.Link(Path, ("project_id", r.ProjectId), ("region", r.Region), ("seq", (r.Sequence + 1).ToString(CultureInfo.InvariantCulture)))}\" rel=\"next\">Next event in the chain</a>"));
        }

        var link = detail.LinkVerified
            ? Html.Of($"<p class=\"verified\" role=\"status\"><strong>Its link verifies</strong>: its hash matches its content and the hash before it, the event before it has that hash, and the event after it links to it.</p>")
            : Html.Of($"<p class=\"error\" role=\"alert\"><strong>Its link does not verify</strong>: {detail.LinkProblem}</p>");
        var purged = detail.PurgedThroughSequence > 0
            ? Html.Of($" Events 1 to {ConsoleFormat.Count(detail.PurgedThroughSequence)} were purged by retention.")
            : Html.Empty;
        var canVerify = page.User!.Can(Permission.VerifyIntegrity, r.ProjectId);
        var timeline = IncidentPage.LinkAround(r.ProjectId, r.Region, at, e.PrincipalId, e.SourceIp);

        return Html.Of($"""
            <p class="back"><a href="{Filter("region", r.Region)}">Audit Trail around this event</a> · <a href="{timeline}">Incident timeline around this event</a></p>
            <section aria-labelledby="ev-fields">
            <h2 id="ev-fields">Fields</h2>
            <table class="fields"><tbody>
            {fieldRows}
            </tbody></table>
            </section>
            <section aria-labelledby="ev-body">
            <h2 id="ev-body">Request body</h2>
            {requestBody}
            </section>
            <section aria-labelledby="ev-resources">
            <h2 id="ev-resources">Resources</h2>
            {resources}
            </section>
            <section aria-labelledby="ev-chain">
            <h2 id="ev-chain">Place in the log</h2>
            <p>Position <strong>{ConsoleFormat.Count(r.Sequence)}</strong> of {ConsoleFormat.Count(detail.HeadSequence)} in the hash chain of project <code>{r.ProjectId}</code>, region {r.Region}.{purged}</p>
            {link}
            <table class="fields"><tbody>
            <tr><th scope="row">Hash</th><td><code class="full">{r.Hash}</code></td></tr>
            <tr><th scope="row">Previous hash</th><td><code class="full">{detail.PreviousHash}</code></td></tr>
            </tbody></table>
            <p class="links">{Html.Join(neighbours.Select(static (n, i) => i == 0 ? n : Html.Of($" · {n}")))}{(canVerify ? Html.Of($"{(neighbours.Count > 0 ? " · " : "")}<a href=\"{verifyLink}\">Verify the whole chain</a>") : Html.Empty)}</p>
            {chainReport}
            </section>
            <details>
            <summary>The event as stored (the JSON its hash covers)</summary>
            <pre class="json"><code>{AuditEventJson.Serialize(e)}</code></pre>
            </details>
            """);
    }

    private static Html ChainReport(AuditEventDetail detail, IntegrityReport report)
    {
        var seq = detail.Record.Sequence;
        if (report.IsValid)
        {
            return Html.Of($"<p class=\"verified\" role=\"status\"><strong>The whole chain verifies</strong>: {ConsoleFormat.Count(report.EventsChecked)} event(s) checked up to position {ConsoleFormat.Count(report.HeadSequence)}, this one included.</p>");
        }

        var at = report.FirstBrokenSequence;
        var where = at switch
        {
            null => "",
            { } k when k > seq => $" at position {ConsoleFormat.Count(k)}, after this event: the chain up to this event verifies",
            { } k when k == seq => " at this event",
            { } k => $" at position {ConsoleFormat.Count(k)}, before this event: nothing after the break can be trusted, this event included",
        };
        return Html.Of($"<p class=\"error\" role=\"alert\"><strong>The chain does not verify</strong>{where}. {report.Reason}</p>");
    }

    private static bool IsApiKey(AuditResource r) => string.Equals(r.Type, "iam_api_key", StringComparison.OrdinalIgnoreCase);

    private static Html Or(string? value, string absent = "none") =>
        string.IsNullOrEmpty(value) ? Html.Of($"<span class=\"none\">{absent}</span>") : Html.Of($"{value}");
}
