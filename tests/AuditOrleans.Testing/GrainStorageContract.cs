using AuditOrleans.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using Orleans.TestingHost;
using Xunit;
using AuditOrleans.Grains.Detection;

namespace AuditOrleans.Testing;

/// <summary>
/// The version (ETag) rules of Orleans' ADO.NET grain storage, checked against our statements
/// through Orleans' own provider (<see cref="AdoNetGrainStorage"/>), on whichever database the
/// silo is configured with. The provider is a second one beside the silo's, with
/// <c>DeleteStateOnClear</c>, so that a clear deletes the row: the case where a stale write
/// must not bring the row back.
/// </summary>
public static class GrainStorageContract
{
    /// <summary>Builds and initialises an ADO.NET grain storage on the silo's database.</summary>
    public static async Task<IGrainStorage> CreateStorageAsync(TestCluster cluster, bool deleteStateOnClear)
    {
        var services = ((InProcessSiloHandle)cluster.Primary!).SiloHost.Services;
        var database = services.GetRequiredService<AuditOrleans.Grains.Storage.AuditDatabase>();
        var options = new Orleans.Configuration.AdoNetGrainStorageOptions
        {
            Invariant = database.Invariant,
            ConnectionString = database.ConnectionString,
            DeleteStateOnClear = deleteStateOnClear,
            GrainStorageSerializer = services.GetRequiredService<IGrainStorageSerializer>(),
        };
        var storage = new AdoNetGrainStorage(
            services.GetRequiredService<IActivatorProvider>(),
            NullLogger<AdoNetGrainStorage>.Instance,
            Options.Create(options),
            services.GetRequiredService<IOptions<Orleans.Configuration.ClusterOptions>>(),
            "contract");
        var lifecycle = new StartOnlyLifecycle();
        storage.Participate(lifecycle);
        await lifecycle.StartAsync();
        return storage;
    }

    /// <summary>
    /// A write that carries the ETag of a row deleted since (by a clear) is refused with
    /// <see cref="InconsistentStateException"/> and does not re-create the row; so is a write
    /// with an ETag for a row that never existed. A write without an ETag creates the row again.
    /// </summary>
    public static async Task StaleWriteAfterDeletingClearIsRefusedAsync(TestCluster cluster)
    {
        var storage = await CreateStorageAsync(cluster, deleteStateOnClear: true);
        var grainId = GrainId.Create("storagecontract", Guid.NewGuid().ToString("N"));
        const string stateName = "contract";

        var owner = new GrainState<AlertConfigState> { State = new AlertConfigState { Active = ["ApiKeyCreated"] } };
        await storage.WriteStateAsync(stateName, grainId, owner);
        await storage.WriteStateAsync(stateName, grainId, owner);
        Assert.Equal("2", owner.ETag);

        // A second activation (a duplicate, or one that read before the clear) holds version 2.
        var stale = new GrainState<AlertConfigState>();
        await storage.ReadStateAsync(stateName, grainId, stale);
        Assert.Equal("2", stale.ETag);

        await storage.ClearStateAsync(stateName, grainId, owner);
        Assert.Null(owner.ETag);
        Assert.False(await ExistsAsync(storage, stateName, grainId));

        stale.State!.Active = ["HttpForbiddenErrorRateHigh"];
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(stateName, grainId, stale));
        Assert.False(await ExistsAsync(storage, stateName, grainId));

        // An ETag for a grain that never had a row is refused the same way.
        var neverStored = GrainId.Create("storagecontract", Guid.NewGuid().ToString("N"));
        var invented = new GrainState<AlertConfigState> { State = new AlertConfigState(), ETag = "7" };
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(stateName, neverStored, invented));
        Assert.False(await ExistsAsync(storage, stateName, neverStored));

        // The owner, whose clear left it without an ETag, may write again: the row starts over.
        owner.State = new AlertConfigState { Active = ["ApiKeyDeleted"] };
        await storage.WriteStateAsync(stateName, grainId, owner);
        Assert.Equal("1", owner.ETag);
        var check = new GrainState<AlertConfigState>();
        await storage.ReadStateAsync(stateName, grainId, check);
        Assert.Equal(["ApiKeyDeleted"], check.State!.Active);

        // A write without an ETag where a row exists is a conflict too (two first writers).
        var blind = new GrainState<AlertConfigState> { State = new AlertConfigState() };
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(stateName, grainId, blind));
    }

    /// <summary>
    /// With a clear that keeps the row (the silo's own storage), a write with the ETag read
    /// before the clear is refused and the cleared state stays.
    /// </summary>
    public static async Task StaleWriteAfterKeepingClearIsRefusedAsync(TestCluster cluster)
    {
        var storage = await CreateStorageAsync(cluster, deleteStateOnClear: false);
        var grainId = GrainId.Create("storagecontract", Guid.NewGuid().ToString("N"));
        const string stateName = "contract";

        var owner = new GrainState<AlertConfigState> { State = new AlertConfigState { Active = ["ApiKeyCreated"] } };
        await storage.WriteStateAsync(stateName, grainId, owner);
        var stale = new GrainState<AlertConfigState>();
        await storage.ReadStateAsync(stateName, grainId, stale);

        await storage.ClearStateAsync(stateName, grainId, owner);
        Assert.Equal("2", owner.ETag);

        stale.State!.Active = ["HttpForbiddenErrorRateHigh"];
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(stateName, grainId, stale));
        var check = new GrainState<AlertConfigState>();
        await storage.ReadStateAsync(stateName, grainId, check);
        Assert.Equal("2", check.ETag);
        Assert.Empty(check.State!.Active);
    }

    private static async Task<bool> ExistsAsync(IGrainStorage storage, string stateName, GrainId grainId)
    {
        var probe = new GrainState<AlertConfigState>();
        await storage.ReadStateAsync(stateName, grainId, probe);
        return probe.RecordExists;
    }

    /// <summary>Just enough of a silo lifecycle to run a provider's start-up step.</summary>
    private sealed class StartOnlyLifecycle : ISiloLifecycle
    {
        private readonly List<(int Stage, ILifecycleObserver Observer)> observers = [];

        public int HighestCompletedStage { get; private set; }

        public int LowestStoppedStage => int.MaxValue;

        public IDisposable Subscribe(string observerName, int stage, ILifecycleObserver observer)
        {
            observers.Add((stage, observer));
            return new Unsubscriber();
        }

        public async Task StartAsync()
        {
            foreach (var (stage, observer) in observers.OrderBy(static o => o.Stage))
            {
                await observer.OnStart(CancellationToken.None);
                HighestCompletedStage = stage;
            }
        }

        private sealed class Unsubscriber : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}
