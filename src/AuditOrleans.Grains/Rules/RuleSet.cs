using AuditOrleans.Grains.Storage;

namespace AuditOrleans.Grains.Rules;

/// <summary>
/// The custom rules of one project-region as its detector runs them (docs/rules.md, How rules run):
/// each enabled rule compiled once (a rule's query never changes, so once per rule), its
/// pre-filter, and its counting window. Not thread-safe: one detector activation owns it.
/// </summary>
public sealed class RuleSet
{
    private readonly Dictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private Entry[] enabled = [];
    private bool usesRequestBody;

    /// <summary>The rules that are enabled and compiled.</summary>
    public int EnabledCount => enabled.Length;

    /// <summary>Evaluation errors since the activation (a query that fails on some events; those events do not match).</summary>
    public long Errors { get; private set; }

    /// <summary>The first evaluation error of each rule since the activation, for the log; taken once.</summary>
    public Queue<(AlertRule Rule, string Error)> NewErrors { get; } = new();

    /// <summary>
    /// Takes the rules of a configuration. A rule seen before keeps its compiled query and its
    /// window (a rename or a new description changes neither); a rule that is enabled again
    /// starts with an empty window; a query that no longer compiles (a newer engine refusing
    /// what an older one took) is skipped and reported.
    /// </summary>
    public IReadOnlyList<(AlertRule Rule, string Error)> Apply(IReadOnlyList<AlertRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var refused = new List<(AlertRule, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            seen.Add(rule.Id);
            if (entries.TryGetValue(rule.Id, out var entry))
            {
                if (rule.Enabled && !entry.Rule.Enabled)
                {
                    entry.Window = new RuleWindow(rule.EvaluationWindow, rule.Occurrences);
                    entry.Window.Restore(new RuleWindowState([], entry.Window.LastFiredAt));
                }

                entry.Rule = rule;
                continue;
            }

            try
            {
                entries[rule.Id] = new Entry(rule, CompiledRule.Compile(rule.Query));
            }
            catch (RuleQueryException ex)
            {
                refused.Add((rule, ex.Message));
            }
        }

        foreach (var id in entries.Keys.Where(id => !seen.Contains(id)).ToList())
        {
            entries.Remove(id);
        }

        enabled = [.. entries.Values.Where(static e => e.Rule.Enabled).OrderBy(static e => e.Rule.Name, StringComparer.Ordinal)];
        usesRequestBody = enabled.Any(static e => e.Compiled.UsesRequestBody);
        return refused;
    }

    /// <summary>
    /// Runs every enabled rule on one stored event; returns the rules that fire on it with the
    /// matches they counted. Never throws for the event's sake: a query error is counted and the
    /// event does not match that rule.
    /// </summary>
    public List<(AlertRule Rule, int Count)>? Evaluate(AuditEvent e)
    {
        List<(AlertRule, int)>? fired = null;
        Dictionary<string, object?>? variables = null;
        foreach (var entry in enabled)
        {
            if (!entry.Compiled.Admits(e))
            {
                continue;
            }

            variables ??= RuleEvent.Variables(e, usesRequestBody);
            if (!entry.Compiled.Evaluate(variables, out var error))
            {
                if (error is not null)
                {
                    Errors++;
                    if (!entry.ErrorReported)
                    {
                        entry.ErrorReported = true;
                        NewErrors.Enqueue((entry.Rule, error));
                    }
                }

                continue;
            }

            var count = entry.Window.Count + 1;
            if (entry.Window.Add(DbTime.ToMicros(e.RecordedAt!.Value)))
            {
                (fired ??= []).Add((entry.Rule, count));
            }
        }

        return fired;
    }

    /// <summary>The windows, to restore when the batch they counted is not committed.</summary>
    public Dictionary<string, RuleWindowState> Save() =>
        enabled.ToDictionary(static e => e.Rule.Id, static e => e.Window.Save(), StringComparer.Ordinal);

    public void Restore(Dictionary<string, RuleWindowState> saved)
    {
        foreach (var entry in enabled)
        {
            if (saved.TryGetValue(entry.Rule.Id, out var state))
            {
                entry.Window.Restore(state);
            }
        }
    }

    /// <summary>The longest window of the enabled rules (zero when none): how far back a rebuild reads.</summary>
    public TimeSpan LongestWindow => enabled.Length == 0 ? TimeSpan.Zero : enabled.Max(static e => e.Rule.EvaluationWindow);

    /// <summary>
    /// Rebuilds the windows after an activation from the newest stored events (oldest first) and
    /// each rule's last firing: the matches after the firing and within the rule's window ending
    /// at the newest event count again; nothing fires while rebuilding.
    /// </summary>
    public void Rebuild(IReadOnlyList<AuditEvent> recent, long? newestMicros, IReadOnlyDictionary<string, long> lastFirings)
    {
        ArgumentNullException.ThrowIfNull(recent);
        ArgumentNullException.ThrowIfNull(lastFirings);
        foreach (var entry in enabled)
        {
            long? fired = lastFirings.TryGetValue(entry.Rule.Id, out var f) ? f : null;
            var from = (newestMicros ?? 0) - (entry.Rule.EvaluationWindow.Ticks / 10);
            var matches = new List<long>();
            foreach (var e in recent)
            {
                var at = DbTime.ToMicros(e.RecordedAt!.Value);
                if (at < from || (fired is { } last && at <= last) || !entry.Compiled.Admits(e))
                {
                    continue;
                }

                if (entry.Compiled.Evaluate(RuleEvent.Variables(e, entry.Compiled.UsesRequestBody), out _))
                {
                    matches.Add(at);
                }
            }

            entry.Window.Restore(new RuleWindowState(matches.TakeLast(Math.Max(0, entry.Rule.Occurrences - 1)).ToList(), fired));
        }
    }

    /// <summary>The state of one rule's window (tests, status).</summary>
    public RuleWindowState? WindowOf(string ruleId) => entries.TryGetValue(ruleId, out var entry) ? entry.Window.Save() : null;

    private sealed class Entry(AlertRule rule, CompiledRule compiled)
    {
        public AlertRule Rule { get; set; } = rule;

        public CompiledRule Compiled { get; } = compiled;

        public RuleWindow Window { get; set; } = new(rule.EvaluationWindow, rule.Occurrences);

        public bool ErrorReported { get; set; }
    }
}
