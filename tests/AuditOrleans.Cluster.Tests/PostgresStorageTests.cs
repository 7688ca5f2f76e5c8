using AuditOrleans.Grains;
using AuditOrleans.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Storage;
using Orleans.TestingHost;
using Xunit;
using AuditOrleans.Grains.Storage;
using AuditOrleans.Grains.Detection;

namespace AuditOrleans.Cluster.Tests;

/// <summary>Orleans grain storage over ADO.NET on PostgreSQL, with our statements.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStorageTests(PostgresClusterFixture fixture)
{
    private IGrainStorage Storage =>
        ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);

    [PostgresFact]
    public async Task AlertConfigurationIsStoredInPostgresAndReadBack()
    {
        var key = Scope.Key(AuditClusterFixture.NewProjectId(), "nl-ams");
        var grain = fixture.Grains.GetGrain<IAlertConfigGrain>(key);

        await grain.SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.ApiKeyCreated] = true, [AlertName.HttpForbiddenErrorRateHigh] = true });
        await grain.SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.ApiKeyCreated] = false });

        // Read the row the grain wrote, through the storage provider, as a new activation would.
        var stored = new GrainState<AlertConfigState>();
        await Storage.ReadStateAsync("alertConfig", grain.GetGrainId(), stored);
        Assert.True(stored.RecordExists);
        Assert.Equal([nameof(AlertName.HttpForbiddenErrorRateHigh)], stored.State!.Active);
        Assert.Equal("2", stored.ETag);

        await using var connection = new NpgsqlConnection(fixture.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM OrleansStorage WHERE GrainTypeString = 'alertConfig' AND Version = 2 AND PayloadBinary IS NOT NULL", connection);
        Assert.True((long)(await command.ExecuteScalarAsync())! >= 1);
    }

    [PostgresFact]
    public async Task StaleEtagIsRefusedAndTheWinnerIsKept()
    {
        var grainId = GrainId.Create("storagetest", Guid.NewGuid().ToString("N"));
        var first = new GrainState<AlertConfigState> { State = new AlertConfigState { Active = ["ApiKeyCreated"], Version = 1 } };
        await Storage.WriteStateAsync("probe", grainId, first);
        Assert.Equal("1", first.ETag);

        // Two writers read version 1; the first write wins, the second is refused.
        var a = new GrainState<AlertConfigState>();
        var b = new GrainState<AlertConfigState>();
        await Storage.ReadStateAsync("probe", grainId, a);
        await Storage.ReadStateAsync("probe", grainId, b);
        a.State!.Active = ["ApiKeyDeleted"];
        await Storage.WriteStateAsync("probe", grainId, a);
        Assert.Equal("2", a.ETag);

        b.State!.Active = ["HttpForbiddenErrorRateHigh"];
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("probe", grainId, b));

        // A first write (no ETag) where a row exists is a conflict too.
        var blind = new GrainState<AlertConfigState> { State = new AlertConfigState { Active = ["ApiKeyCreated"] } };
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("probe", grainId, blind));

        var check = new GrainState<AlertConfigState>();
        await Storage.ReadStateAsync("probe", grainId, check);
        Assert.Equal(["ApiKeyDeleted"], check.State!.Active);
        Assert.Equal("2", check.ETag);

        // Clear keeps the version check: a stale clear is refused, a current one empties the state.
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.ClearStateAsync("probe", grainId, b));
        await Storage.ClearStateAsync("probe", grainId, check);
        var cleared = new GrainState<AlertConfigState>();
        await Storage.ReadStateAsync("probe", grainId, cleared);
        Assert.Empty(cleared.State!.Active);

        // Another state name with the same grain id is another row.
        var other = new GrainState<AlertConfigState>();
        await Storage.ReadStateAsync("other", grainId, other);
        Assert.False(other.RecordExists);
    }

    [PostgresFact]
    public Task StaleWriteAfterADeletingClearIsRefusedAndDoesNotRecreateTheRow() =>
        GrainStorageContract.StaleWriteAfterDeletingClearIsRefusedAsync(fixture.Cluster);

    [PostgresFact]
    public Task StaleWriteAfterAKeepingClearIsRefused() =>
        GrainStorageContract.StaleWriteAfterKeepingClearIsRefusedAsync(fixture.Cluster);
}
