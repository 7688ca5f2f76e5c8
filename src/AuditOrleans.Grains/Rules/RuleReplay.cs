using AuditOrleans.Grains.Storage;

namespace AuditOrleans.Grains.Rules;

/// <summary>
/// Replays events through a query as a live rule would run them (Test-AuditAlertRule, docs/rules.md,
/// Proving a rule): the same compiled query, pre-filter and counting window as the detector, in
/// the order given, recording nothing and notifying nobody.
/// </summary>
public static class RuleReplay
{
    /// <summary>Most matches and errors listed in one answer (the count of evaluated events is exact).</summary>
    public const int MaxListed = 5000;

    public static RuleTestResult Run(CompiledRule compiled, TimeSpan window, int occurrences, IEnumerable<AuditEvent?> events, RuleWindowState? state, int firstIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(compiled);
        ArgumentNullException.ThrowIfNull(events);
        var counting = new RuleWindow(window, occurrences);
        counting.Restore(state);
        var matches = new List<RuleTestMatch>();
        var index = firstIndex;
        var evaluated = 0;
        foreach (var e in events)
        {
            var at = index++;
            evaluated++;
            if (e?.RecordedAt is not { } recordedAt || !compiled.Admits(e))
            {
                continue;
            }

            var matched = compiled.Evaluate(RuleEvent.Variables(e, compiled.UsesRequestBody), out var error);
            if (!matched && error is null)
            {
                continue;
            }

            var count = matched ? counting.Count + 1 : 0;
            var fires = matched && counting.Add(DbTime.ToMicros(recordedAt));
            if (matches.Count < MaxListed || fires)
            {
                matches.Add(new RuleTestMatch
                {
                    Index = at,
                    EventId = e.Id,
                    RecordedAt = recordedAt,
                    Kind = e.Kind,
                    Count = count,
                    Fires = fires,
                    Error = error,
                    Summary = Summary(e),
                });
            }
        }

        return new RuleTestResult(evaluated, matches, counting.Save());
    }

    /// <summary>Who or what an event is about, in a few words.</summary>
    public static string Summary(AuditEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var parts = e.Kind switch
        {
            EventKind.Authentication => new[] { e.Result, e.FailureReason, e.CountryCode, e.SourceIp },
            EventKind.System => [e.SystemKind, e.SystemName, e.Source, e.ProductName],
            _ => [e.MethodName, e.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture), e.PrincipalId, e.SourceIp],
        };
        return string.Join(' ', parts.Where(static p => !string.IsNullOrEmpty(p)));
    }
}
