using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// The key guard with access control off: it checks a project grain's key when the activation
/// is set up and fails the activation only for a bad key (a valid key costs the activation no
/// lifecycle subscription; docs/architecture.md, Detector memory).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class GrainKeyGuardTests(AuditClusterFixture fixture)
{
    [Fact]
    public async Task BadDetectorKeysAreRefusedWithoutAnActivationAndGoodOnesActivate()
    {
        var project = AuditClusterFixture.NewProjectId("kg");
        string[] bad = [Scope.Key(project, "mars"), Scope.Key("p\u0001x", "fr-par"), project, $"{project}/"];
        string[] messages = ["is not known", "is not valid", "not a project-region key", "not a project-region key"];
        for (var i = 0; i < bad.Length; i++)
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => fixture.Grains.GetGrain<IDetectorGrain>(bad[i]).GetStatusAsync());
            Assert.IsType<ArgumentException>(ex.GetBaseException(), exactMatch: false);
            Assert.Contains(messages[i], ex.GetBaseException().Message, StringComparison.Ordinal);
        }

        var good = Scope.Key(project, "fr-par");
        var status = await fixture.Grains.GetGrain<IDetectorGrain>(good).GetStatusAsync();
        Assert.Equal(0, status.HeadSequence);

        var active = await ActiveDetectorKeysAsync();
        Assert.Contains(good, active);
        Assert.DoesNotContain(active, k => bad.Contains(k, StringComparer.Ordinal));
    }

    [Fact]
    public async Task ABadKeyIsRefusedEveryTimeItIsCalled()
    {
        var key = Scope.Key(AuditClusterFixture.NewProjectId("kg"), "xx-yyy");
        for (var i = 0; i < 3; i++)
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => fixture.Grains.GetGrain<IAlertConfigGrain>(key).GetAsync());
            Assert.IsType<ArgumentException>(ex.GetBaseException(), exactMatch: false);
        }

        Assert.DoesNotContain(key, await ActiveKeysAsync("alertconfig"));
    }

    private Task<List<string>> ActiveDetectorKeysAsync() => ActiveKeysAsync("detector");

    private async Task<List<string>> ActiveKeysAsync(string grainType) =>
        [.. (await fixture.Grains.GetGrain<IManagementGrain>(0).GetActiveGrains(GrainType.Create(grainType))).Select(static g => g.Key.ToString()!)];
}
