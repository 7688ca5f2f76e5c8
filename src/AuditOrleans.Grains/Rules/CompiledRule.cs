using System.Text.RegularExpressions;
using Cel;

namespace AuditOrleans.Grains.Rules;

/// <summary>
/// A rule's query compiled by the CEL package, with its pre-filter (docs/rules.md, Cost).
/// <see cref="Compile"/> checks the query first (<see cref="RuleQueryScanner"/>), then parses and
/// compiles it, then evaluates it on one sample event of each kind to refuse a query that is not
/// a condition or applies an operator to the wrong types. A compiled rule belongs to one grain
/// activation (the package does not say its programs may run on several threads at once).
/// </summary>
public sealed partial class CompiledRule
{
    /// <summary>How long one <c>matches()</c> may take on one event before it counts as an evaluation error.</summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(20);

    private static readonly AuditEvent[] Samples =
    [
        new() { Kind = EventKind.Api, Id = "sample", RecordedAt = DateTimeOffset.UnixEpoch, StatusCode = 200, MethodName = "ListServers", ProductName = "instance", PrincipalId = "p", SourceIp = "192.0.2.1", Resources = [new AuditResource { Id = "r", Type = "t" }] },
        new() { Kind = EventKind.Api, Id = "sample" },
        new() { Kind = EventKind.Authentication, Id = "sample", RecordedAt = DateTimeOffset.UnixEpoch, Result = "failure", FailureReason = "invalid_password", CountryCode = "FR" },
        new() { Kind = EventKind.System, Id = "sample", RecordedAt = DateTimeOffset.UnixEpoch, SystemKind = "cron", SystemName = "s" },
    ];

    private readonly CelProgramDelegate program;

    private CompiledRule(string query, CelProgramDelegate program, IReadOnlyList<RuleFilter> filters, bool usesRequestBody)
    {
        Query = query;
        this.program = program;
        Filters = filters;
        UsesRequestBody = usesRequestBody;
    }

    public string Query { get; }

    /// <summary>Conditions every matching event meets, tested before the query runs.</summary>
    public IReadOnlyList<RuleFilter> Filters { get; }

    public bool UsesRequestBody { get; }

    /// <summary>Compiles and checks a query; throws <see cref="RuleQueryException"/> with the position and reason when it is refused.</summary>
    public static CompiledRule Compile(string? query)
    {
        if (string.IsNullOrWhiteSpace(query))
        {
            throw new RuleQueryException("The query is empty: give a CEL condition over event, such as event.kind == 'authentication' && event.result == 'failure'.", 1, 1, "the query is empty");
        }

        if (query.Length > RuleLimits.MaxQueryLength)
        {
            throw new RuleQueryException(
                $"The query is refused at line {RuleQueryScanner.Position(query, RuleLimits.MaxQueryLength).Line}, column {RuleQueryScanner.Position(query, RuleLimits.MaxQueryLength).Column}: it is {query.Length} characters long, at most {RuleLimits.MaxQueryLength} are accepted: split it into several rules.",
                RuleQueryScanner.Position(query, RuleLimits.MaxQueryLength).Line, RuleQueryScanner.Position(query, RuleLimits.MaxQueryLength).Column, "the query is too long");
        }

        var scanner = RuleQueryScanner.Check(query);
        CelProgramDelegate? program = null;
        Exception? failure = null;

        // The package's parser recurses per nesting level: a thread of its own with a generous stack.
        var thread = new Thread(() =>
        {
            try
            {
                program = Environment().Compile(query);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        }, 16 * 1024 * 1024);
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw FromParser(query, failure);
        }

        var compiled = new CompiledRule(query, program!, scanner.Filters(), scanner.UsesRequestBody);
        foreach (var sample in Samples)
        {
            compiled.Probe(sample);
        }

        return compiled;
    }

    /// <summary>True when the event passes the pre-filter (the query may match it).</summary>
    public bool Admits(AuditEvent e)
    {
        foreach (var filter in Filters)
        {
            if (!filter.Admits(e))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Runs the query on the variables of one event: true when it matches; an error of the query on
    /// this event (a missing key, a conversion, a regex that took too long) is returned, never thrown.
    /// </summary>
    public bool Evaluate(IDictionary<string, object?> variables, out string? error)
    {
        error = null;
        try
        {
            return program(variables!) is true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            error = ex is RegexMatchTimeoutException
                ? $"matches() took longer than {RegexTimeout.TotalMilliseconds:0} ms"
                : Scope.Printable(FirstLine(ex.Message), 200);
            return false;
        }
    }

    private void Probe(AuditEvent sample)
    {
        object? result;
        try
        {
            result = program(RuleEvent.Variables(sample, UsesRequestBody)!);
        }
        catch (Exception ex) when (IsTypeError(ex))
        {
            throw new RuleQueryException(
                $"The query is refused at line 1, column 1: it does not type-check on {Kinds(sample)} events ({FirstLine(ex.Message)}). Compare values of the same type (text with text, numbers with numbers).",
                1, 1, FirstLine(ex.Message));
        }
        catch (Exception)
        {
            // An error that depends on the event (a missing key, a conversion, a division by zero) is no type error.
            return;
        }

        // A missing key of a map (event.request_body.x) gives the package's internal 'no such field' value: data, not a type error.
        if (result is not bool && result?.GetType().Name != "CelNoSuchField")
        {
            var type = result?.GetType().Name ?? "null";
            throw new RuleQueryException(
                $"The query is refused at line 1, column 1: it must be a condition (true or false), and it gives a {type}: compare it with something (==, <, in...).",
                1, 1, $"the query gives a {type}, not a condition");
        }
    }

    private static string Kinds(AuditEvent sample) => EventKinds.ToColumn(sample.Kind);

    private static bool IsTypeError(Exception ex) =>
        ex is CelNoSuchOverloadException or CelUnboundFunctionException or CelExpressionParserException or CelTypeDoesNotSupportFieldSelectionException
        && !ex.Message.Contains("timezone", StringComparison.OrdinalIgnoreCase);

    private static RuleQueryException FromParser(string query, Exception ex)
    {
        var message = FirstLine(ex.Message);
        if (ParserPosition().Match(message) is { Success: true } m)
        {
            var line = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            var column = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) + 1;
            var reason = m.Groups[3].Value.Trim();
            return new RuleQueryException($"The query is refused at line {line}, column {column}: {reason}.", line, column, reason);
        }

        var (l, c) = RuleQueryScanner.Position(query, 0);
        return new RuleQueryException($"The query is refused at line {l}, column {c}: {message}.", l, c, message);
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }

    /// <summary>A CEL environment of the calling thread, with <c>matches()</c> bounded in time.</summary>
    private static CelEnvironment Environment()
    {
        var environment = new CelEnvironment(null, null);
        environment.RegisterFunction("matches", [typeof(string), typeof(string)], static args =>
            Regex.IsMatch((string)args[0]!, (string)args[1]!, RegexOptions.CultureInvariant, RegexTimeout));
        return environment;
    }

    [GeneratedRegex(@"^Line (\d+):(\d+) (.*)$")]
    private static partial Regex ParserPosition();
}
