using AuditOrleans.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using Orleans.Runtime;
using Orleans.Storage;
using Orleans.TestingHost;
using Xunit;
using AuditOrleans.Grains.Storage;
using AuditOrleans.Grains.Detection;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// The detector holds the active alerts itself: it reads the persisted configuration when it
/// activates (without activating the alert-config grain) and takes each persisted change pushed
/// by the alert-config grain, keeping the newest version.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AlertConfigPushTests(AuditClusterFixture fixture)
{
    private IIngestGrain Ingest => fixture.Grains.GetGrain<IIngestGrain>(0);

    private IManagementGrain Management => fixture.Grains.GetGrain<IManagementGrain>(0);

    private IGrainStorage Storage =>
        ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);

    private IAlertConfigGrain Config(string project, string region = "fr-par") => fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, region));

    private IDetectorGrain Detector(string project, string region = "fr-par") => fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(project, region));

    private Task<IReadOnlyList<FiredAlert>> HistoryAsync(string project) =>
        fixture.Grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project });

    [Fact]
    public async Task EnabledAlertReachesTheRunningDetectorWhichNeverReadsTheConfigurationAgain()
    {
        var project = AuditClusterFixture.NewProjectId();
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-30);
        await Ingest.IngestAsync(project, [.. Enumerable.Range(0, 20).Select(i => EventFactory.Forbidden(project, t0.AddSeconds(i)))]);
        Assert.Equal(0, (await Detector(project).GetStatusAsync()).ConfigurationVersion);

        await Config(project).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });
        var status = await Detector(project).GetStatusAsync();
        Assert.Equal(1, status.ConfigurationVersion);
        Assert.Equal([AlertName.HttpForbiddenErrorRateHigh], status.ActiveAlerts);

        // Take the configuration away from everywhere the detector could read it again: the
        // config grain is deactivated and its stored row now says nothing is active. Only the
        // set the running detector holds can make the 21st 403 fire.
        await DeactivateAsync(Config(project));
        var stored = new GrainState<AlertConfigState>();
        var configId = Config(project).GetGrainId();
        await Storage.ReadStateAsync(AlertConfigState.StateName, configId, stored);
        stored.State!.Active = [];
        await Storage.WriteStateAsync(AlertConfigState.StateName, configId, stored);

        await Ingest.IngestAsync(project, [EventFactory.Forbidden(project, t0.AddSeconds(20))]);

        Assert.Equal(AlertName.HttpForbiddenErrorRateHigh, Assert.Single(await HistoryAsync(project)).Alert);
        Assert.Equal(0, await ActivationsAsync(Config(project)));
    }

    [Fact]
    public async Task DetectorActivatedAfterAChangeSeesThePersistedSetWithoutTheConfigGrain()
    {
        var project = AuditClusterFixture.NewProjectId();
        await Config(project).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.ApiKeyCreated] = true, [AlertName.ApiKeyDeleted] = true });
        await Config(project).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.ApiKeyDeleted] = false });
        await DeactivateAsync(Detector(project));
        await DeactivateAsync(Config(project));

        var at = fixture.Clock.GetUtcNow().AddMinutes(-1);
        await Ingest.IngestAsync(project, [EventFactory.ApiKey(project, at, "CreateAPIKey", 200), EventFactory.ApiKey(project, at, "DeleteAPIKey", 200)]);

        Assert.Equal(AlertName.ApiKeyCreated, Assert.Single(await HistoryAsync(project)).Alert);
        var status = await Detector(project).GetStatusAsync();
        Assert.Equal(2, status.ConfigurationVersion);
        Assert.Equal([AlertName.ApiKeyCreated], status.ActiveAlerts);
        Assert.Equal(0, await ActivationsAsync(Config(project)));
    }

    [Fact]
    public async Task IngestionNeverActivatesTheConfigGrain()
    {
        var project = AuditClusterFixture.NewProjectId();
        var at = fixture.Clock.GetUtcNow().AddMinutes(-2);
        string[] regions = ["fr-par", "nl-ams", "pl-waw"];
        await Ingest.IngestAsync(project, [.. regions.SelectMany(r => new[] { EventFactory.Forbidden(project, at, r), EventFactory.Forbidden(project, at.AddSeconds(1), r) })]);

        foreach (var region in regions)
        {
            Assert.Equal(2, (await Detector(project, region).GetStatusAsync()).ForbiddenInWindow);
            Assert.Equal(1, await ActivationsAsync(Detector(project, region)));
            Assert.Equal(0, await ActivationsAsync(Config(project, region)));
        }
    }

    [Fact]
    public async Task ConcurrentChangesActivationsAndIngestionEndConsistent()
    {
        var project = AuditClusterFixture.NewProjectId();
        var alerts = AlertCatalog.All.Select(static a => a.Name).ToArray();
        var at = fixture.Clock.GetUtcNow().AddMinutes(-3);
        for (var round = 0; round < 3; round++)
        {
            // Changes from several callers race with batches that (re)activate the detector
            // and with deactivations, so activation reads race with pushes.
            var changes = Enumerable.Range(0, 12).Select(i => Config(project).SetActiveAsync(new Dictionary<AlertName, bool>
            {
                [alerts[(i + round) % alerts.Length]] = i % 3 != 0,
                [alerts[(i * 7 + round) % alerts.Length]] = i % 2 == 0,
            }));
            var batches = Enumerable.Range(0, 4).Select(i => Ingest.IngestAsync(project, [EventFactory.Forbidden(project, at.AddSeconds((round * 10) + i))]));
            var deactivations = Enumerable.Range(0, 2).Select(_ => Detector(project).Cast<IGrainManagementExtension>().DeactivateOnIdle().AsTask());
            await Task.WhenAll([.. changes, .. batches, .. deactivations]);

            var config = await Config(project).GetAsync();
            var status = await Detector(project).GetStatusAsync();
            Assert.Equal(config.Version, status.ConfigurationVersion);
            Assert.Equal(config.Active.Order(), status.ActiveAlerts.Order());
        }

        // A fresh activation reads the same final state from storage.
        var final = await Config(project).GetAsync();
        await DeactivateAsync(Detector(project));
        var reloaded = await Detector(project).GetStatusAsync();
        Assert.Equal(final.Version, reloaded.ConfigurationVersion);
        Assert.Equal(final.Active.Order(), reloaded.ActiveAlerts.Order());
    }

    [Fact]
    public async Task AnOlderConfigurationNeverReplacesANewerOneAndAnotherKeysIsRefused()
    {
        var project = AuditClusterFixture.NewProjectId();
        await Config(project).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.ApiKeyCreated] = true });
        await Config(project).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.ApiKeyDeleted] = true });

        await Detector(project).ApplyConfigurationAsync(new AlertConfiguration(project, "fr-par", new HashSet<AlertName>(), 1, null));
        var status = await Detector(project).GetStatusAsync();
        Assert.Equal(2, status.ConfigurationVersion);
        Assert.Equal([AlertName.ApiKeyCreated, AlertName.ApiKeyDeleted], status.ActiveAlerts.Order());

        var other = AuditClusterFixture.NewProjectId();
        var refused = await Assert.ThrowsAsync<ArgumentException>(() =>
            Detector(project).ApplyConfigurationAsync(new AlertConfiguration(other, "fr-par", new HashSet<AlertName>(), 9, null)));
        Assert.Contains(other, refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await Detector(project).GetStatusAsync()).ConfigurationVersion);
    }

    private Task<int> ActivationsAsync(IAddressable grain) => Management.GetGrainActivationCount((GrainReference)grain);

    /// <summary>Deactivates a grain and waits until its activation is gone.</summary>
    [Fact]
    public async Task AChangeSavedButNeverPushedReachesTheDetectorWhenTheCallerRetries()
    {
        var project = AuditClusterFixture.NewProjectId();
        await Ingest.IngestAsync(project, [EventFactory.Forbidden(project, fixture.Clock.GetUtcNow().AddMinutes(-1))]);
        Assert.Equal(0, (await Detector(project).GetStatusAsync()).ConfigurationVersion);

        // What a config grain whose silo died between its write and its push leaves behind: the
        // new set is saved, the running detector still holds the old one, the caller got no answer.
        await DeactivateAsync(Config(project));
        var stored = new GrainState<AlertConfigState>();
        var configId = Config(project).GetGrainId();
        await Storage.ReadStateAsync(AlertConfigState.StateName, configId, stored);
        stored.State = new AlertConfigState { Active = [nameof(AlertName.ApiKeyCreated)], Version = 1, UpdatedAt = fixture.Clock.GetUtcNow() };
        await Storage.WriteStateAsync(AlertConfigState.StateName, configId, stored);
        Assert.Equal(0, (await Detector(project).GetStatusAsync()).ConfigurationVersion);

        // The caller sends the same change again: nothing changes in storage, the detector gets it.
        var applied = await Config(project).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.ApiKeyCreated] = true });
        Assert.Equal(1, applied.Version);
        var status = await Detector(project).GetStatusAsync();
        Assert.Equal(1, status.ConfigurationVersion);
        Assert.Equal([AlertName.ApiKeyCreated], status.ActiveAlerts);
    }

    private async Task DeactivateAsync(IAddressable grain)
    {
        await Management.DeactivateGrain(grain.GetGrainId());
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await ActivationsAsync(grain) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{grain.GetGrainId()} is still active 10 s after it was asked to deactivate.");
            await Task.Delay(20);
        }
    }
}
