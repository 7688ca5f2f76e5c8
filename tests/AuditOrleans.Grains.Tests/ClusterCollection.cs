using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<AuditClusterFixture>
{
    public const string Name = "cluster";
}
