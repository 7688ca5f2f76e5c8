using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>Orleans' grain storage version rules on the SQLite file, through Orleans' ADO.NET provider.</summary>
[Collection(ClusterCollection.Name)]
public sealed class GrainStorageContractTests(AuditClusterFixture fixture)
{
    [Fact]
    public Task StaleWriteAfterADeletingClearIsRefusedAndDoesNotRecreateTheRow() =>
        GrainStorageContract.StaleWriteAfterDeletingClearIsRefusedAsync(fixture.Cluster);

    [Fact]
    public Task StaleWriteAfterAKeepingClearIsRefused() =>
        GrainStorageContract.StaleWriteAfterKeepingClearIsRefusedAsync(fixture.Cluster);
}
