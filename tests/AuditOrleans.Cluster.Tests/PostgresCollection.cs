using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Cluster.Tests;

/// <summary>One throwaway PostgreSQL server and one in-process test cluster stored on it.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresClusterFixture>
{
    public const string Name = "postgres";
}
