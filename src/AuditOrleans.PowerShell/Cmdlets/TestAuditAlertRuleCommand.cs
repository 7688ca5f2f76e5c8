using System.Management.Automation;
using System.Text;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Proves a rule before it is trusted (docs/rules.md, Proving a rule): replays a JSON lines file
/// (-Path) or the stored events of a project-region (-Start/-End) through a query, in the silo,
/// with the live rule's own engine, and lists the events it matches and those on which the rule
/// would fire. Nothing is stored and nobody is notified.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "AuditAlertRule", DefaultParameterSetName = StoredSet)]
[OutputType(typeof(AuditAlertRuleMatch))]
public sealed class TestAuditAlertRuleCommand : AuditCmdlet
{
    private const string StoredSet = "Stored";
    private const string FileSet = "File";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Query { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public TimeSpan EvaluationWindow { get; set; }

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, RuleLimits.MaxOccurrences)]
    public int Occurrences { get; set; }

    /// <summary>A JSON lines file of events (plain or in the combined envelope), replayed in its order.</summary>
    [Parameter(Mandatory = true, ParameterSetName = FileSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Stored events recorded at or after this time; default 24 hours before -End.</summary>
    [Parameter(ParameterSetName = StoredSet)]
    public DateTime? Start { get; set; }

    /// <summary>Stored events recorded at or before this time; default now.</summary>
    [Parameter(ParameterSetName = StoredSet)]
    public DateTime? End { get; set; }

    /// <summary>The region whose rule is tried (its stored events, or the file's events that count there); default fr-par.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string Region { get; set; } = Scope.GlobalRegion;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectIdCompleter))]
    public string? ProjectId { get; set; }

    /// <summary>Lists only the events on which the rule would fire.</summary>
    [Parameter]
    public SwitchParameter FiringOnly { get; set; }

    protected override void ProcessRecord()
    {
        var grain = RuleScope.For(ResolveProjectId(ProjectId), Region).Grain(Grains);
        int evaluated = 0, matched = 0, fired = 0, errors = 0;
        void Report(RuleTestResult result)
        {
            evaluated += result.Evaluated;
            foreach (var match in result.Matches)
            {
                if (match.Error is null)
                {
                    matched++;
                }
                else
                {
                    errors++;
                }

                fired += match.Fires ? 1 : 0;
                if (!FiringOnly || match.Fires)
                {
                    WriteObject(AuditAlertRuleMatch.From(match));
                }
            }
        }

        var request = new RuleTestRequest { Query = Query, EvaluationWindow = EvaluationWindow, Occurrences = Occurrences };
        if (ParameterSetName == FileSet)
        {
            var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
            if (!File.Exists(path))
            {
                ThrowAuditError($"The file '{path}' does not exist: give a JSON lines file of events (one event per line, as Export-AuditEvent writes them).", "FileNotFound", ErrorCategory.ObjectNotFound, Path);
            }

            RuleWindowState? state = null;
            var chunk = new List<AuditEvent>();
            var line = 0;
            var offset = 0;
            foreach (var text in File.ReadLines(path, Encoding.UTF8))
            {
                line++;
                if (string.IsNullOrWhiteSpace(text))
                {
                    continue;
                }

                AuditEvent e;
                try
                {
                    e = AuditEventJson.Parse(text);
                }
                catch (FormatException ex)
                {
                    WriteAuditError($"Line {line} of '{path}' is not an event: {ex.Message}", "InvalidAuditEvent", ErrorCategory.InvalidData, line);
                    continue;
                }

                chunk.Add(e);
                if (chunk.Count == IngestLimits.MaxBatchEvents / 5 && !Send())
                {
                    return;
                }
            }

            if (chunk.Count > 0 && !Send())
            {
                return;
            }

            bool Send()
            {
                var sent = request with { Events = [.. chunk], State = state };
                if (!TryCall(() => grain.TestRuleOnEventsAsync(sent), "TestAuditAlertRuleFailed", Query, out var result))
                {
                    return false;
                }

                Report(result with { Matches = [.. result.Matches.Select(m => m with { Index = m.Index + offset })] });
                state = result.State;
                offset += chunk.Count;
                chunk.Clear();
                return true;
            }
        }
        else
        {
            var stored = request with
            {
                Start = TimeArguments.ToUtc(Start),
                End = TimeArguments.ToUtc(End),
            };
            if (!TryCall(() => grain.TestRuleOnStoredAsync(stored), "TestAuditAlertRuleFailed", Query, out var result))
            {
                return;
            }

            Report(result);
            if (result.Truncated)
            {
                WriteWarning($"Only the first {RuleLimits.MaxReplayEvents} stored events were replayed: narrow -Start and -End to test the rest.");
            }
        }

        WriteVerbose($"{evaluated} events evaluated: {matched} matched, the rule would have fired {fired} times; the query could not be evaluated on {errors}.");
        if (fired == 0)
        {
            WriteWarning($"The rule would not have fired on these {evaluated} events ({matched} matched; it fires at {Occurrences} within {EvaluationWindow}).");
        }
    }
}
