using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Storage;

/// <summary>Parsing and validation of grain keys.</summary>
public static class GrainKeys
{
    /// <summary>Checks the key of a per-project grain (a project id); the exception message says what is wrong.</summary>
    public static string Project(string key)
    {
        if (!Scope.IsValidProjectId(key))
        {
            throw new ArgumentException(Scope.DescribeProjectIdRule(key));
        }

        return key;
    }

    /// <summary>Splits and checks a <c>{projectId}/{region}</c> key; the exception message says what is wrong.</summary>
    public static (string ProjectId, string Region) ProjectRegion(string key, IReadOnlyCollection<string> regions)
    {
        var (parsed, region) = Scope.ParseKey(key);
        var projectId = Project(parsed);

        // The configured instance of the region name is returned, so that the many grains of a
        // region share one string rather than each holding a copy cut from its key.
        var known = regions.FirstOrDefault(r => string.Equals(r, region, StringComparison.Ordinal))
            ?? throw new ArgumentException(Scope.DescribeUnknownRegion(region, regions));
        return (projectId, known);
    }
}
