using System.Text.RegularExpressions;

namespace AuditOrleans;

/// <summary>Project ids, regions and the project-region grain key (docs/events.md, Projects and Regions).</summary>
public static partial class Scope
{
    /// <summary>The regions known to every installation; a silo's configuration may add more.</summary>
    public static IReadOnlyList<string> DefaultRegions { get; } = ["fr-par", "nl-ams", "pl-waw"];

    /// <summary>Where global events (locality <c>global</c> or empty, products iam/account/edge-services) go.</summary>
    public const string GlobalRegion = "fr-par";

    /// <summary>The project used when neither the event nor the connection names one.</summary>
    public const string DefaultProjectId = "default";

    public const int MaxProjectIdLength = 64;

    private static readonly HashSet<string> GlobalProducts = new(StringComparer.OrdinalIgnoreCase) { "iam", "account", "edge-services" };

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ProjectIdPattern();

    [GeneratedRegex("^(?<region>[a-z]{2}-[a-z]{3})(-[0-9]+)?\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ZonePattern();

    public static bool IsValidProjectId(string? projectId) => projectId is not null && ProjectIdPattern().IsMatch(projectId);

    /// <summary>The message for an invalid project id.</summary>
    public static string DescribeProjectIdRule(string? projectId) =>
        $"Project id '{Printable(projectId)}' is not valid: use 1 to {MaxProjectIdLength} letters, digits, '-' or '_' (a UUID fits).";

    /// <summary>
    /// The region an event belongs to: global localities and global products go to
    /// <see cref="GlobalRegion"/>; a zone (fr-par-2) stands for its region. Returns null when the
    /// locality names no known region.
    /// </summary>
    public static string? ResolveRegion(string? locality, string? productName, IReadOnlyCollection<string> regions)
    {
        if (productName is not null && GlobalProducts.Contains(productName.Trim()))
        {
            return GlobalRegion;
        }

        if (string.IsNullOrWhiteSpace(locality) || string.Equals(locality.Trim(), "global", StringComparison.OrdinalIgnoreCase))
        {
            return GlobalRegion;
        }

        return NormalizeRegion(locality, regions);
    }

    /// <summary>The region named by a region or zone name, or null when it is not a known region.</summary>
    public static string? NormalizeRegion(string? name, IReadOnlyCollection<string> regions)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        var text = name.Trim().ToLowerInvariant();
        if (regions.Contains(text))
        {
            return text;
        }

        var match = ZonePattern().Match(text);
        return match.Success && regions.Contains(match.Groups["region"].Value) ? match.Groups["region"].Value : null;
    }

    /// <summary>The message for an unknown region: names the valid ones.</summary>
    public static string DescribeUnknownRegion(string? name, IReadOnlyCollection<string> regions) =>
        $"Region '{Printable(name)}' is not known. Valid regions: {string.Join(", ", regions)} (a zone such as fr-par-2 stands for its region).";

    /// <summary>The grain key of a project-region: <c>{projectId}/{region}</c>.</summary>
    public static string Key(string projectId, string region) => $"{projectId}/{region}";

    /// <summary>Splits a project-region grain key.</summary>
    public static (string ProjectId, string Region) ParseKey(string key)
    {
        var slash = key.LastIndexOf('/');
        if (slash <= 0 || slash == key.Length - 1)
        {
            throw new ArgumentException($"'{Printable(key)}' is not a project-region key ({{projectId}}/{{region}}).", nameof(key));
        }

        return (key[..slash], key[(slash + 1)..]);
    }

    /// <summary>
    /// Shortens user input echoed in an error message and replaces with '?' what could garble
    /// it: control characters, line separators, invisible formatting characters (bidirectional
    /// overrides) and unpaired surrogates.
    /// </summary>
    public static string Printable(string? value, int max = 80)
    {
        if (value is null)
        {
            return "";
        }

        var chars = value.Length > max ? value[..max] + "..." : value;
        return string.Create(chars.Length, chars, static (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                var c = s[i];
                if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                {
                    span[i] = c;
                    span[++i] = s[i];
                    continue;
                }

                span[i] = char.IsSurrogate(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Control
                    or System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.LineSeparator
                    or System.Globalization.UnicodeCategory.ParagraphSeparator
                    ? '?'
                    : c;
            }
        });
    }
}
