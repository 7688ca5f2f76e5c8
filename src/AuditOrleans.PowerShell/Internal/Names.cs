using System.Text.RegularExpressions;

namespace AuditOrleans.PowerShell.Internal;

/// <summary>Alert names and regions as users type them.</summary>
internal static partial class Names
{
    [GeneratedRegex("^(?<region>[a-z]{2}-[a-z]{3})-[0-9]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Zone();

    /// <summary>A region as the silo keys it: trimmed, lower case, a zone (fr-par-2) standing for its region.</summary>
    public static string NormalizeRegion(string region)
    {
        var text = region.Trim().ToLowerInvariant();
        var zone = Zone().Match(text);
        return zone.Success ? zone.Groups["region"].Value : text;
    }

    /// <summary>The message for a name that is not one of the five alerts.</summary>
    public static string DescribeUnknownAlert(string? name) =>
        $"'{Scope.Printable(name)}' is not an alert. Valid names: {AlertCatalog.ValidNames}.";

    /// <summary>The alerts whose names match <paramref name="patterns"/> (wildcards allowed); all when none.</summary>
    /// <param name="patterns">Names or wildcard patterns.</param>
    /// <param name="unknown">Called with each name (no wildcard) that matches nothing.</param>
    /// <param name="includeCustomRule">Also match <c>CustomRule</c>, which stands for every custom rule (silences, docs/rules.md).</param>
    public static IReadOnlyList<AlertDefinition> MatchAlerts(string[]? patterns, Action<string> unknown, bool includeCustomRule = false)
    {
        IReadOnlyList<AlertDefinition> candidates = includeCustomRule ? [.. AlertCatalog.All, AlertCatalog.CustomRule] : AlertCatalog.All;
        if (patterns is not { Length: > 0 })
        {
            return AlertCatalog.All;
        }

        var matched = new List<AlertDefinition>();
        foreach (var pattern in patterns)
        {
            var wildcard = System.Management.Automation.WildcardPattern.Get(pattern.Trim(), System.Management.Automation.WildcardOptions.IgnoreCase);
            var hits = candidates.Where(a => wildcard.IsMatch(a.Name.ToString())).ToList();
            if (hits.Count == 0 && !System.Management.Automation.WildcardPattern.ContainsWildcardCharacters(pattern))
            {
                unknown(pattern);
            }

            matched.AddRange(hits.Where(h => !matched.Contains(h)));
        }

        return [.. matched.OrderBy(static a => a.Name)];
    }
}
