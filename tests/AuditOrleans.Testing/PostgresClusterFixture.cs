namespace AuditOrleans.Testing;

/// <summary>
/// <see cref="AuditClusterFixture"/> on PostgreSQL: one throwaway server per test collection,
/// one fresh database, grain storage and every table of ours on it (clustering stays the test
/// cluster's own). Where PostgreSQL is not installed the cluster is not started and the tests
/// (marked <see cref="PostgresFactAttribute"/>) are skipped.
/// </summary>
public class PostgresClusterFixture : AuditClusterFixture
{
    public PostgresServer? Server { get; private set; }

    /// <summary>The connection string of this collection's database.</summary>
    public string PostgresConnectionString { get; private set; } = "";

    protected override IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        new("Storage:Provider", "PostgreSql"),
        new("Storage:ConnectionString", PostgresConnectionString),
    ];

    public override async Task InitializeAsync()
    {
        if (!PostgresServer.Required && PostgresServer.UnavailableReason is not null)
        {
            return;
        }

        Server = await PostgresServer.StartAsync();
        PostgresConnectionString = await Server.CreateDatabaseAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}
