using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Storage;

/// <summary>Parsing and validation of grain keys.</summary>
public static class GrainKeys
{
    /// <summary>Splits and checks a <c>{projectId}/{region}</c> key; the exception message says what is wrong.</summary>
    public static (string ProjectId, string Region) ProjectRegion(string key, IReadOnlyCollection<string> regions)
    {
        var (projectId, region) = Scope.ParseKey(key);
        if (!Scope.IsValidProjectId(projectId))
        {
            throw new ArgumentException(Scope.DescribeProjectIdRule(projectId));
        }

        // The configured instance of the region name is returned, so that the many grains of a
        // region share one string rather than each holding a copy cut from its key.
        var known = regions.FirstOrDefault(r => string.Equals(r, region, StringComparison.Ordinal))
            ?? throw new ArgumentException(Scope.DescribeUnknownRegion(region, regions));
        return (projectId, known);
    }
}
