using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>A cluster with a small ingest rate limit (10 events/s, bursts of 50) for the access control tests.</summary>
public sealed class SecurityClusterFixture : AuditClusterFixture
{
    public const int EventsPerSecond = 10;
    public const int Burst = 50;

    protected override IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        new("Security:IngestEventsPerSecond", EventsPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Security:IngestBurst", Burst.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];
}

[CollectionDefinition(Name)]
public sealed class SecurityCollection : ICollectionFixture<SecurityClusterFixture>
{
    public const string Name = "security";
}

/// <summary>A cluster started like a fresh installation: no bootstrap key configured.</summary>
public sealed class FreshInstallFixture : AuditClusterFixture
{
    protected override bool UseBootstrapApiKey => false;
}

[CollectionDefinition(Name)]
public sealed class FreshInstallCollection : ICollectionFixture<FreshInstallFixture>
{
    public const string Name = "fresh-install";
}

/// <summary>A cluster with the default limits on failed API-key checks (20 per source, 10 per key id, a minute).</summary>
public sealed class ThrottleClusterFixture : AuditClusterFixture
{
    protected override IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        new("Security:FailedKeyChecksPerSource", "20"),
        new("Security:FailedKeyChecksPerKey", "10"),
    ];
}

[CollectionDefinition(Name)]
public sealed class ThrottleCollection : ICollectionFixture<ThrottleClusterFixture>
{
    public const string Name = "throttle";
}
