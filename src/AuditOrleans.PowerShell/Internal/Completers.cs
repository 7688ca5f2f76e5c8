using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace AuditOrleans.PowerShell.Internal;

/// <summary>Tab completion of the five alert names.</summary>
public sealed class AlertNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Matching(AlertCatalog.All.Select(static a => (a.Name.ToString(), $"{a.Severity}: {a.Description}")), wordToComplete);
}

/// <summary>Tab completion of the regions every installation knows.</summary>
public sealed class RegionCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Matching(Scope.DefaultRegions.Select(static r => (r, $"Region {r}")), wordToComplete);
}

internal static class Completion
{
    public static IEnumerable<CompletionResult> Matching(IEnumerable<(string Value, string Tooltip)> values, string? wordToComplete)
    {
        var word = (wordToComplete ?? "").Trim('\'', '"');
        var pattern = WildcardPattern.Get(word + "*", WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant);
        return values
            .Where(v => pattern.IsMatch(v.Value))
            .Select(static v => new CompletionResult(v.Value, v.Value, CompletionResultType.ParameterValue, v.Tooltip))
            .ToList();
    }
}
