using System.Data;
using System.Net;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Runtime.MembershipService;
using Xunit;

namespace AuditOrleans.Cluster.Tests;

/// <summary>
/// The membership statements of deploy/sql/postgresql checked as Orleans' membership contract
/// tests check a table: through Orleans' own ADO.NET clustering table
/// (<see cref="AdoNetClusteringTable"/>), on a database of its own, with rows of dead silos
/// that carry recent, old or no suspicion votes.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresMembershipContractTests(PostgresClusterFixture fixture)
{
    private static readonly DateTime Now = DateTime.SpecifyKind(DateTime.UtcNow.AddTicks(-(DateTime.UtcNow.Ticks % TimeSpan.TicksPerMillisecond)), DateTimeKind.Utc);

    [PostgresFact]
    public async Task DefunctCleanupKeepsDeadSilosWithRecentVotesAndLiveSilos()
    {
        var (table, _) = await CreateTableAsync();
        var cutoff = Now.AddHours(-1);

        var deadNoVotes = await AddAsync(table, 1, SiloStatus.Dead, Now.AddHours(-3), Now.AddHours(-2));
        var deadRecentVote = await AddAsync(table, 2, SiloStatus.Dead, Now.AddHours(-3), Now.AddHours(-2), Now.AddMinutes(-10));
        var deadOldVote = await AddAsync(table, 3, SiloStatus.Dead, Now.AddHours(-3), Now.AddHours(-2), Now.AddHours(-2));
        var activeOld = await AddAsync(table, 4, SiloStatus.Active, Now.AddHours(-3), Now.AddHours(-2));
        var deadRecent = await AddAsync(table, 5, SiloStatus.Dead, Now.AddHours(-3), Now.AddMinutes(-5));

        await table.CleanupDefunctSiloEntriesAsync(new DateTimeOffset(cutoff));

        var left = (await table.ReadAllAsync()).Members.Select(static m => m.Item1.SiloAddress).ToHashSet();
        Assert.DoesNotContain(deadNoVotes, left);
        Assert.DoesNotContain(deadOldVote, left);
        Assert.Contains(deadRecentVote, left);
        Assert.Contains(activeOld, left);
        Assert.Contains(deadRecent, left);
    }

    [PostgresFact]
    public async Task BulkCleanupStatementKeepsDeadSilosWithRecentVotes()
    {
        // Orleans runs the bulk statement only where the per-row one is missing; it must follow
        // the same rule.
        var (table, connectionString) = await CreateTableAsync();
        var cutoff = Now.AddHours(-1);
        var deadNoVotes = await AddAsync(table, 1, SiloStatus.Dead, Now.AddHours(-3), Now.AddHours(-2));
        var deadRecentVote = await AddAsync(table, 2, SiloStatus.Dead, Now.AddHours(-3), Now.AddHours(-2), Now.AddHours(-2), Now.AddMinutes(-10));
        var deadOldVote = await AddAsync(table, 3, SiloStatus.Dead, Now.AddHours(-3), Now.AddHours(-2), Now.AddHours(-2));
        var activeOld = await AddAsync(table, 4, SiloStatus.Active, Now.AddHours(-3), Now.AddHours(-2));

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = await StoredQueryAsync(connection, "CleanupDefunctSiloEntriesKey");
        command.Parameters.Add(new NpgsqlParameter("DeploymentId", ClusterId(table)));
        command.Parameters.Add(new NpgsqlParameter("IAmAliveTime", cutoff));
        Assert.Equal(2, await command.ExecuteNonQueryAsync());

        var left = (await table.ReadAllAsync()).Members.Select(static m => m.Item1.SiloAddress).ToHashSet();
        Assert.DoesNotContain(deadNoVotes, left);
        Assert.DoesNotContain(deadOldVote, left);
        Assert.Contains(deadRecentVote, left);
        Assert.Contains(activeOld, left);
    }

    [PostgresFact]
    public async Task SingleEntryCleanupDeletesOnlyARowUnchangedSinceRead()
    {
        var (table, connectionString) = await CreateTableAsync();
        var heartbeat = await AddAsync(table, 1, SiloStatus.Dead, Now.AddHours(-3), Now.AddHours(-2));
        var voted = await AddAsync(table, 2, SiloStatus.Dead, Now.AddHours(-3), Now.AddHours(-2), Now.AddHours(-2));

        var heartbeatAsRead = await ReadAsync(table, heartbeat);
        var votedAsRead = await ReadAsync(table, voted);

        // Both rows change after the read: a late heartbeat, a new vote.
        var later = Clone(heartbeatAsRead);
        later.IAmAliveTime = Now.AddMinutes(-90);
        await table.UpdateIAmAliveAsync(later);
        var data = await table.ReadAllAsync();
        var revoted = Clone(votedAsRead);
        revoted.SuspectTimes = [.. votedAsRead.SuspectTimes!, Tuple.Create(SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 9), 1), Now.AddHours(-2).AddMinutes(1))];
        Assert.True(await table.UpdateRowAsync(revoted, data.Members.Single(m => m.Item1.SiloAddress.Equals(voted)).Item2, data.Version.Next()));

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        Assert.Equal(0, await CleanupOneAsync(connection, ClusterId(table), heartbeatAsRead));
        Assert.Equal(0, await CleanupOneAsync(connection, ClusterId(table), votedAsRead));
        var left = (await table.ReadAllAsync()).Members.Select(static m => m.Item1.SiloAddress).ToHashSet();
        Assert.Contains(heartbeat, left);
        Assert.Contains(voted, left);

        // Read again, unchanged since: now they go.
        Assert.Equal(1, await CleanupOneAsync(connection, ClusterId(table), await ReadAsync(table, heartbeat)));
        Assert.Equal(1, await CleanupOneAsync(connection, ClusterId(table), await ReadAsync(table, voted)));
        Assert.DoesNotContain((await table.ReadAllAsync()).Members, static m => m.Item1 is not null);
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<AdoNetClusteringTable, string> ClusterIds = new();

    private static string ClusterId(AdoNetClusteringTable table) => ClusterIds.TryGetValue(table, out var id) ? id : throw new InvalidOperationException();

    /// <summary>A clustering table on a fresh database with our schema, as a silo would open it.</summary>
    private async Task<(AdoNetClusteringTable Table, string ConnectionString)> CreateTableAsync()
    {
        var connectionString = await fixture.Server!.CreateDatabaseAsync("membership");
        using (var database = new AuditDatabase(
            Options.Create(new AuditOrleansOptions { Storage = { Provider = StorageProvider.PostgreSql, ConnectionString = connectionString } }),
            NullLogger<AuditDatabase>.Instance))
        {
            await database.ApplySchemaAsync();
        }

        var clusterId = "contract-" + Guid.NewGuid().ToString("N")[..8];
        var table = new AdoNetClusteringTable(
            new ServiceCollection().BuildServiceProvider(),
            Options.Create(new Orleans.Configuration.ClusterOptions { ClusterId = clusterId, ServiceId = "contract" }),
            Options.Create(new AdoNetClusteringSiloOptions { Invariant = "Npgsql", ConnectionString = connectionString }),
            NullLogger<AdoNetClusteringTable>.Instance);
        await table.InitializeMembershipTableAsync(true);
        ClusterIds.Add(table, clusterId);
        return (table, connectionString);
    }

    /// <summary>Inserts a silo row, then (as the membership protocol does) updates it to its status and votes.</summary>
    private static async Task<SiloAddress> AddAsync(AdoNetClusteringTable table, int port, SiloStatus status, DateTime started, DateTime lastAlive, params DateTime[] votes)
    {
        var address = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11000 + port), 42);
        var entry = new MembershipEntry
        {
            SiloAddress = address,
            SiloName = "silo" + port,
            HostName = "host" + port,
            Status = SiloStatus.Joining,
            ProxyPort = 30000 + port,
            StartTime = started,
            IAmAliveTime = lastAlive,
        };
        var data = await table.ReadAllAsync();
        Assert.True(await table.InsertRowAsync(entry, data.Version.Next()));

        entry.Status = status;
        entry.SuspectTimes = [.. votes.Select(v => Tuple.Create(SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 9), 1), v))];
        data = await table.ReadAllAsync();
        Assert.True(await table.UpdateRowAsync(entry, data.Members.Single(m => m.Item1.SiloAddress.Equals(address)).Item2, data.Version.Next()));
        return address;
    }

    private static async Task<MembershipEntry> ReadAsync(AdoNetClusteringTable table, SiloAddress address) =>
        (await table.ReadRowAsync(address)).Members.Single().Item1;

    private static MembershipEntry Clone(MembershipEntry entry) => new()
    {
        SiloAddress = entry.SiloAddress,
        SiloName = entry.SiloName,
        HostName = entry.HostName,
        Status = entry.Status,
        ProxyPort = entry.ProxyPort,
        StartTime = entry.StartTime,
        IAmAliveTime = entry.IAmAliveTime,
        SuspectTimes = entry.SuspectTimes is null ? null : [.. entry.SuspectTimes],
    };

    private static async Task<NpgsqlCommand> StoredQueryAsync(NpgsqlConnection connection, string key)
    {
        await using var read = new NpgsqlCommand("SELECT QueryText FROM OrleansQuery WHERE QueryKey = @key", connection);
        read.Parameters.AddWithValue("key", key);
        var text = (string?)await read.ExecuteScalarAsync() ?? throw new InvalidOperationException($"{key} is not in OrleansQuery.");
        return new NpgsqlCommand(text, connection);
    }

    /// <summary>Runs CleanupDefunctSiloEntryKey with the parameters Orleans binds for an entry it read.</summary>
    private static async Task<int> CleanupOneAsync(NpgsqlConnection connection, string clusterId, MembershipEntry asRead)
    {
        await using var command = await StoredQueryAsync(connection, "CleanupDefunctSiloEntryKey");
        command.Parameters.Add(new NpgsqlParameter("DeploymentId", clusterId));
        command.Parameters.Add(new NpgsqlParameter("Address", DbType.AnsiString) { Value = asRead.SiloAddress.Endpoint.Address.ToString() });
        command.Parameters.Add(new NpgsqlParameter("Port", asRead.SiloAddress.Endpoint.Port));
        command.Parameters.Add(new NpgsqlParameter("Generation", asRead.SiloAddress.Generation));
        command.Parameters.Add(new NpgsqlParameter("SuspectTimes", (object?)SuspectTimesText(asRead) ?? DBNull.Value));
        command.Parameters.Add(new NpgsqlParameter("StartTime", DbType.DateTime) { Value = asRead.StartTime });
        command.Parameters.Add(new NpgsqlParameter("IAmAliveTime", DbType.DateTime) { Value = asRead.IAmAliveTime });
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>SuspectTimes as Orleans writes it: "silo,date" pairs separated by '|'.</summary>
    private static string? SuspectTimesText(MembershipEntry entry) =>
        entry.SuspectTimes is null
            ? null
            : string.Join("|", entry.SuspectTimes.Select(static s => s.Item1.ToParsableString() + "," + LogFormatter.PrintDate(s.Item2)));
}
