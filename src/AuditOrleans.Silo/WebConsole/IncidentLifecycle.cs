namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// The alert lifecycle of an incident timeline, in time order: firings, episode updates and
/// resolved notices, each delivery (alone or carried by a digest), who took and closed a firing,
/// and the silences that began, ended or expired in the span (docs/alerts.md, Grouping, Silences,
/// Acknowledgement). Only what the signed-in key may read is passed in.
/// </summary>
public static class IncidentLifecycle
{
    /// <summary>One step: when, what kind of step (a CSS class and a word), and what it says.</summary>
    public sealed record Step(DateTimeOffset At, string Kind, string What, string Detail, string? Link);

    /// <summary>The steps of these firings and silences that fall in the span, oldest first.</summary>
    public static List<Step> Steps(IEnumerable<FiredAlert> firings, IEnumerable<AlertSilence> silences, DateTimeOffset from, DateTimeOffset to)
    {
        ArgumentNullException.ThrowIfNull(firings);
        ArgumentNullException.ThrowIfNull(silences);
        var steps = new List<Step>();
        foreach (var a in firings)
        {
            var flags = new List<string>();
            if (a.IsTest)
            {
                flags.Add("test");
            }

            if (a.IsBackfill)
            {
                flags.Add("backfill: recorded, not sent");
            }

            if (a.IsLate)
            {
                flags.Add($"late: the event happened {ConsoleFormat.Readable(a.EventTime)}");
            }

            if (a.SilenceId is { } silence)
            {
                flags.Add($"held by silence {silence}");
            }

            if (a.Facts.Change is { } change)
            {
                flags.Add(change);
            }

            var kind = a.Kind switch { AlertKind.Update => "update", AlertKind.Resolved => "resolved", AlertKind.RuleChanged => "changed", _ => "fired" };
            steps.Add(new Step(a.TriggeredAt, a.Kind.ToString().ToLowerInvariant(), $"{AlertCatalog.DisplayName(a)} {kind} ({a.Region})", string.Join("; ", flags), IncidentPage.LinkFor(a)));

            foreach (var d in a.Deliveries)
            {
                var carried = d.DigestId is { } digest ? $" in digest {digest}" : "";
                if (d.DeliveredAt is { } sent)
                {
                    steps.Add(new Step(sent, "delivered", $"{a.Alert} sent to {d.Recipient}", $"delivered{carried} after {d.Attempts} attempt(s)", null));
                }
                else if (d.State == DeliveryState.Failed)
                {
                    steps.Add(new Step(a.TriggeredAt, "failed", $"{a.Alert} not delivered to {d.Recipient}", $"failed after {d.Attempts} attempt(s){carried}: {d.LastError}", null));
                }
            }

            foreach (var ack in a.Acknowledgements)
            {
                var word = ack.Action == FiringAction.Closed ? "closed" : "taken";
                steps.Add(new Step(ack.At, word, $"{a.Alert} {word} by key {ack.KeyId}", ack.Comment ?? "", null));
            }
        }

        foreach (var s in silences)
        {
            var scope = $"{string.Join(", ", s.Alerts.Select(static a => a.ToString()).Concat(s.Rules.Select(static r => "rule " + r)))}{(s.Region is null ? "" : " in " + s.Region)}{(s.PrincipalId is null ? "" : ", principal " + s.PrincipalId)}{(s.SourceIp is null ? "" : ", source IP " + s.SourceIp)}";
            var link = ConsoleLayout.Link("/alerts/history", ("project_id", s.ProjectId), ("silence_id", s.Id));
            steps.Add(new Step(s.StartsAt, "silence", $"Silence {s.Id} begins", $"{scope}{(s.Weekly is null ? "" : " (weekly window)")}: {s.Reason} (key {s.CreatedBy})", link));
            if (s.EndedAt is { } ended)
            {
                steps.Add(new Step(ended, "silence", $"Silence {s.Id} ended", $"by key {s.EndedBy}{(s.EndComment is null ? "" : ": " + s.EndComment)}", link));
            }
            else if (s.EndsAt is { } ends)
            {
                steps.Add(new Step(ends, "silence", $"Silence {s.Id} expires", scope, link));
            }
        }

        return [.. steps.Where(x => x.At >= from && x.At <= to).OrderBy(static x => x.At)];
    }

    /// <summary>The steps as a table, or a sentence when there are none.</summary>
    public static Html Render(IReadOnlyList<Step> steps, DateTimeOffset? anchor)
    {
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Count == 0)
        {
            return Html.Of($"<p class=\"empty\">No firing, notice, delivery, acknowledgement or silence in the span.</p>");
        }

        return Html.Of($"""
            <table class="lifecycle">
            <caption>Alert lifecycle in time order</caption>
            <thead><tr><th scope="col">Time (UTC)</th>{(anchor is null ? Html.Empty : Html.Of($"<th scope=\"col\">From the firing's event</th>"))}<th scope="col">Step</th><th scope="col">Details</th></tr></thead>
            <tbody>
            {steps.Select(s => Html.Of($"""
                <tr class="step-{s.Kind}">
                  <td class="time">{ConsoleFormat.Time(s.At)}</td>
                  {(anchor is { } a ? Html.Of($"<td class=\"relative\">{IncidentPage.Relative(s.At - a)}</td>") : Html.Empty)}
                  <td>{(s.Link is null ? Html.Of($"{s.What}") : Html.Of($"<a href=\"{s.Link}\">{s.What}</a>"))}</td>
                  <td>{ConsoleFormat.Short(s.Detail, 300, "")}</td>
                </tr>
                """))}
            </tbody>
            </table>
            """);
    }
}
