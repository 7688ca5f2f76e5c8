using AuditOrleans.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.TestingHost;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// Access control as seen by real clients over the gateway: every grain operation that needs a
/// permission refuses anonymous callers, the wrong role, a revoked key and another project's
/// key, and lets the right key through.
/// </summary>
[Collection(SecurityCollection.Name)]
public sealed class AccessControlTests(SecurityClusterFixture fixture)
{
    /// <summary>One client-callable operation on project <c>p</c>, the permission it needs and the role that has it.</summary>
    public sealed record Operation(string Name, Permission Permission, ApiKeyRole AllowedRole, ApiKeyRole WrongRole, Func<IGrainFactory, string, Task> Call);

    private static readonly Operation[] Operations =
    [
        new("Get alert configuration", Permission.ViewAlerts, ApiKeyRole.ReadOnly, ApiKeyRole.EventWriter,
            (g, p) => g.GetGrain<IAlertConfigGrain>(Scope.Key(p, "fr-par")).GetAsync()),
        new("Enable an alert", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly,
            (g, p) => g.GetGrain<IAlertConfigGrain>(Scope.Key(p, "fr-par")).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.ApiKeyCreated] = true })),
        new("List contacts", Permission.ViewContacts, ApiKeyRole.ReadOnly, ApiKeyRole.EventWriter,
            (g, p) => g.GetGrain<INotificationContactsGrain>(p).GetAsync()),
        new("Add a contact", Permission.ManageContacts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly,
            (g, p) => g.GetGrain<INotificationContactsGrain>(p).AddAsync("security@example.com", NotificationType.Security)),
        new("Remove a contact", Permission.ManageContacts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly,
            (g, p) => g.GetGrain<INotificationContactsGrain>(p).RemoveAsync("nobody@example.com")),
        new("List silences", Permission.ViewAlerts, ApiKeyRole.ReadOnly, ApiKeyRole.EventWriter,
            (g, p) => g.GetGrain<IAlertSilenceGrain>(p).ListAsync(true)),
        new("Create a silence", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly,
            (g, p) => g.GetGrain<IAlertSilenceGrain>(p).CreateAsync(new AlertSilenceRequest { Alerts = [AlertName.ApiKeyCreated], EndsAt = DateTimeOffset.MaxValue, Reason = "test" })),
        new("End a silence", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly,
            (g, p) => g.GetGrain<IAlertSilenceGrain>(p).EndAsync(new string('0', 32), null)),
        new("Take a firing", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly,
            (g, p) => g.GetGrain<IAlertAcknowledgementGrain>(p).TakeAsync(new string('0', 32), "mine")),
        new("Close a firing", Permission.ManageAlerts, ApiKeyRole.AlertsManager, ApiKeyRole.ReadOnly,
            (g, p) => g.GetGrain<IAlertAcknowledgementGrain>(p).CloseAsync(new string('0', 32), "done")),
        new("Query events", Permission.ViewEvents, ApiKeyRole.ReadOnly, ApiKeyRole.AlertsManager,
            (g, p) => g.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery { ProjectId = p })),
        new("Verify integrity", Permission.VerifyIntegrity, ApiKeyRole.ReadOnly, ApiKeyRole.AlertsManager,
            (g, p) => g.GetGrain<IAuditLogGrain>(0).VerifyAsync(p, "fr-par")),
        new("Event at a chain position", Permission.ViewEvents, ApiKeyRole.ReadOnly, ApiKeyRole.AlertsManager,
            (g, p) => g.GetGrain<IAuditLogGrain>(0).GetEventAsync(p, "fr-par", 1)),
        new("Event by id", Permission.ViewEvents, ApiKeyRole.ReadOnly, ApiKeyRole.EventWriter,
            (g, p) => g.GetGrain<IAuditLogGrain>(0).FindEventAsync(p, "some-id")),
        new("Activity counts", Permission.ViewEvents, ApiKeyRole.ReadOnly, ApiKeyRole.AlertsManager,
            (g, p) => g.GetGrain<IAuditLogGrain>(0).GetActivityAsync(new ActivityQuery { ProjectId = p, From = AuditClusterFixture.Epoch, To = AuditClusterFixture.Epoch.AddHours(1), Bucket = TimeSpan.FromMinutes(5) })),
        new("List projects (Owner only)", Permission.Internal, ApiKeyRole.Owner, ApiKeyRole.ReadOnly,
            (g, _) => g.GetGrain<IAuditLogGrain>(0).ListProjectsAsync(10)),
        new("Alert history", Permission.ViewAlertHistory, ApiKeyRole.AlertsManager, ApiKeyRole.EventWriter,
            (g, p) => g.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = p })),
        new("Send events", Permission.WriteEvents, ApiKeyRole.EventWriter, ApiKeyRole.ReadOnly,
            (g, p) => g.GetGrain<IIngestGrain>(0).IngestAsync(p, [EventFactory.Forbidden(p, AuditClusterFixture.Epoch)])),
        new("Send historical events", Permission.WriteEvents, ApiKeyRole.EventWriter, ApiKeyRole.ReadOnly,
            (g, p) => g.GetGrain<IIngestGrain>(0).IngestAsync(p, [EventFactory.Forbidden(p, AuditClusterFixture.Epoch)], IngestMode.Historical)),
        new("Create an API key", Permission.ManageApiKeys, ApiKeyRole.Owner, ApiKeyRole.AlertsManager,
            (g, p) => g.GetGrain<IApiKeyGrain>(0).CreateAsync(ApiKeyRole.ReadOnly, p, "made by a test")),
        new("List API keys", Permission.ManageApiKeys, ApiKeyRole.Owner, ApiKeyRole.ReadOnly,
            (g, _) => g.GetGrain<IApiKeyGrain>(0).ListAsync(false)),
        new("Revoke an API key", Permission.ManageApiKeys, ApiKeyRole.Owner, ApiKeyRole.EventWriter,
            (g, _) => g.GetGrain<IApiKeyGrain>(0).RevokeAsync("00000000000000ff")),
        new("Detector status (internal)", Permission.Internal, ApiKeyRole.Owner, ApiKeyRole.AlertsManager,
            (g, p) => g.GetGrain<IDetectorGrain>(Scope.Key(p, "fr-par")).GetStatusAsync()),
        new("Append to a detector (internal)", Permission.Internal, ApiKeyRole.Owner, ApiKeyRole.EventWriter,
            (g, p) => g.GetGrain<IDetectorGrain>(Scope.Key(p, "fr-par")).AppendAsync([])),
        new("Look at a detector's episode (internal)", Permission.Internal, ApiKeyRole.Owner, ApiKeyRole.AlertsManager,
            (g, p) => g.GetGrain<IDetectorGrain>(Scope.Key(p, "fr-par")).CheckEpisodeAsync()),
        new("Push a configuration to a detector (internal)", Permission.Internal, ApiKeyRole.Owner, ApiKeyRole.AlertsManager,
            (g, p) => g.GetGrain<IDetectorGrain>(Scope.Key(p, "fr-par")).ApplyConfigurationAsync(new AlertConfiguration(p, "fr-par", new HashSet<AlertName>(), 0, null))),
    ];

    public static TheoryData<string> Callers => ["anonymous", "wrong role", "revoked key", "another project's key"];

    [Fact]
    public void EveryPermissionOfTheMethodMapIsExercised()
    {
        var exercised = Operations.Select(static o => o.Permission).ToHashSet();
        Assert.Subset(exercised, Security.GrainPermissions.All.Values.Select(static r => r.Permission).ToHashSet());
    }

    [Fact]
    public async Task ASilenceAndATakenFiringRecordTheCallersVerifiedKeyWhateverTheClientClaims()
    {
        var project = AuditClusterFixture.NewProjectId("ac");
        var secret = await fixture.CreateApiKeyAsync(ApiKeyRole.AlertsManager, project);
        await using var client = await fixture.CreateClientAsync(secret, static builder => builder.AddOutgoingGrainCallFilter(static context =>
        {
            RequestContext.Set(Security.ActingKey.RequestContextKey, "someone-else");
            return context.Invoke();
        }));

        var silence = await client.Grains.GetGrain<IAlertSilenceGrain>(project).CreateAsync(
            new AlertSilenceRequest { Alerts = [AlertName.ApiKeyCreated], EndsAt = DateTimeOffset.MaxValue, Reason = "spoof test" });
        Assert.Equal(secret[3..19], silence.CreatedBy);
        Assert.Equal(secret[3..19], (await client.Grains.GetGrain<IAlertSilenceGrain>(project).EndAsync(silence.Id, null))!.EndedBy);
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public async Task EveryOperationRefusesTheCaller(string caller)
    {
        var project = AuditClusterFixture.NewProjectId("ac");
        var other = AuditClusterFixture.NewProjectId("ac");
        var clients = new Dictionary<(string, ApiKeyRole, string?), (TestClient Client, string? Key)>();

        async Task<(TestClient Client, string? Key)> ClientAsync(string kind, ApiKeyRole role, string? projectId)
        {
            projectId = role == ApiKeyRole.Owner ? null : projectId;
            if (!clients.TryGetValue((kind, role, projectId), out var entry))
            {
                var key = kind == "anonymous" ? null : await fixture.CreateApiKeyAsync(role, projectId);
                if (kind == "revoked key")
                {
                    await RevokedAsync(key!);
                }

                entry = (await fixture.CreateClientAsync(key), key);
                clients[(kind, role, projectId)] = entry;
            }

            return entry;
        }

        try
        {
            foreach (var op in Operations)
            {
                // The right key works (and activates the grain, so that the refusal below is the call filter's).
                await op.Call((await ClientAsync("valid", op.AllowedRole, project)).Client.Grains, project);

                var (client, key) = caller switch
                {
                    "anonymous" => await ClientAsync("anonymous", ApiKeyRole.Owner, null),
                    "wrong role" => await ClientAsync("valid", op.WrongRole, project),
                    "revoked key" => await ClientAsync("revoked key", op.AllowedRole, project),
                    _ => await ClientAsync("valid", op.AllowedRole == ApiKeyRole.Owner ? ApiKeyRole.AlertsManager : op.AllowedRole, other),
                };

                if (op.Permission == Permission.WriteEvents && caller == "another project's key")
                {
                    // Ingestion checks each event's project: the call is answered, the event refused.
                    var result = await client.Grains.GetGrain<IIngestGrain>(0).IngestAsync(project, [EventFactory.Forbidden(project, AuditClusterFixture.Epoch)]);
                    Assert.Equal(0, result.Accepted);
                    Assert.Equal("project_id", Assert.Single(result.Errors).Field);
                    continue;
                }

                var ex = await Assert.ThrowsAsync<AccessDeniedException>(() => op.Call(client.Grains, project));
                if (caller == "anonymous")
                {
                    // Without a key every operation is refused alike: the message says a key is needed, not which permission.
                    Assert.Contains("no API key was presented", ex.Message, StringComparison.Ordinal);
                    Assert.Contains("$env:AUDITORLEANS_API_KEY", ex.Message, StringComparison.Ordinal);
                }
                else
                {
                    Assert.Equal(op.Permission, ex.Permission);
                    Assert.Contains($"needs the {op.Permission} permission", ex.Message, StringComparison.Ordinal);
                }

                Assert.DoesNotContain(AuditClusterFixture.OwnerApiKey, ex.Message, StringComparison.Ordinal);
                if (key is not null)
                {
                    Assert.DoesNotContain(key, ex.Message, StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            foreach (var (c, _) in clients.Values)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AnotherProjectsRefusalDoesNotTellWhetherTheProjectExists()
    {
        var existing = AuditClusterFixture.NewProjectId("ex");
        var neverUsed = AuditClusterFixture.NewProjectId("nx");
        await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(existing, "fr-par")).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.ApiKeyDeleted] = true });
        await fixture.Grains.GetGrain<INotificationContactsGrain>(existing).AddAsync("soc@example.com", NotificationType.Security);

        await using var stranger = await fixture.CreateClientAsync(await fixture.CreateApiKeyAsync(ApiKeyRole.ReadOnly, AuditClusterFixture.NewProjectId("own")));
        foreach (var call in new Func<string, Task>[]
        {
            p => stranger.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(p, "fr-par")).GetAsync(),
            p => stranger.Grains.GetGrain<INotificationContactsGrain>(p).GetAsync(),
            p => stranger.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery { ProjectId = p }),
        })
        {
            var a = await Assert.ThrowsAsync<AccessDeniedException>(() => call(existing));
            var b = await Assert.ThrowsAsync<AccessDeniedException>(() => call(neverUsed));
            Assert.Equal(a.Message.Replace(existing, "P", StringComparison.Ordinal), b.Message.Replace(neverUsed, "P", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task NoGrainIsActivatedForARefusedCaller()
    {
        var project = AuditClusterFixture.NewProjectId("act");
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);
        await using var anonymous = await fixture.CreateClientAsync(null);
        await using var invalid = await fixture.CreateClientAsync("ao_00000000000000aa_not-a-key-of-this-cluster-000");
        await using var stranger = await fixture.CreateClientAsync(await fixture.CreateApiKeyAsync(ApiKeyRole.AlertsManager, AuditClusterFixture.NewProjectId("own")));

        foreach (var client in new[] { anonymous, invalid, stranger })
        {
            await Assert.ThrowsAsync<AccessDeniedException>(() => client.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "nl-ams")).GetAsync());
            await Assert.ThrowsAsync<AccessDeniedException>(() => client.Grains.GetGrain<INotificationContactsGrain>(project).GetAsync());
            await Assert.ThrowsAsync<AccessDeniedException>(() => client.Grains.GetGrain<IDetectorGrain>(Scope.Key(project, "nl-ams")).GetStatusAsync());
        }

        Assert.DoesNotContain(await ActiveKeysAsync(management, "alertconfig"), k => k.Contains(project, StringComparison.Ordinal));
        Assert.DoesNotContain(await ActiveKeysAsync(management, "notificationcontacts"), k => k.Contains(project, StringComparison.Ordinal));
        Assert.DoesNotContain(await ActiveKeysAsync(management, "detector"), k => k.Contains(project, StringComparison.Ordinal));

        // The same calls with a key of the project do activate them (the check above can fail).
        await using var member = await fixture.CreateClientAsync(await fixture.CreateApiKeyAsync(ApiKeyRole.ReadOnly, project));
        await member.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "nl-ams")).GetAsync();
        await member.Grains.GetGrain<INotificationContactsGrain>(project).GetAsync();
        Assert.Contains(await ActiveKeysAsync(management, "alertconfig"), k => k.Contains(project, StringComparison.Ordinal));
        Assert.Contains(await ActiveKeysAsync(management, "notificationcontacts"), k => k.Contains(project, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ControlCharactersInGrainKeysAreRefused()
    {
        var hostile = "p\u0001x";
        await using var member = await fixture.CreateClientAsync(await fixture.CreateApiKeyAsync(ApiKeyRole.ReadOnly, AuditClusterFixture.NewProjectId("cc")));
        await Assert.ThrowsAsync<AccessDeniedException>(() => member.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(hostile, "fr-par")).GetAsync());

        // Even an Owner gets a plain argument error, not an activation of a grain with that key.
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => fixture.Grains.GetGrain<INotificationContactsGrain>(hostile).GetAsync());
        Assert.IsType<ArgumentException>(ex.GetBaseException(), exactMatch: false);
        Assert.Contains("is not valid", ex.GetBaseException().Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EventWriterWritesItsOwnProjectOnlyPerEvent()
    {
        var project = AuditClusterFixture.NewProjectId("ew");
        var other = AuditClusterFixture.NewProjectId("ew");
        await using var writer = await fixture.CreateClientAsync(await fixture.CreateApiKeyAsync(ApiKeyRole.EventWriter, project));
        var at = fixture.Clock.GetUtcNow().AddMinutes(-1);

        var result = await writer.Grains.GetGrain<IIngestGrain>(0).IngestAsync(project,
        [
            EventFactory.Forbidden(project, at),
            EventFactory.Forbidden(other, at),
            EventFactory.Forbidden(project, at) with { ProjectId = null },
            EventFactory.Forbidden(project, at) with { ProjectId = null, OrganizationId = other },
        ]);

        Assert.Equal(2, result.Accepted);
        Assert.Equal([1, 3], result.Errors.Select(static e => e.Index));
        Assert.All(result.Errors, static e => Assert.Equal("project_id", e.Field));
        Assert.All(result.Errors, e => Assert.Contains(other, e.Message, StringComparison.Ordinal));

        // Nothing was stored in the other project.
        var page = await fixture.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery { ProjectId = other, RecordedAfter = at.AddHours(-1) });
        Assert.Empty(page.Records);
    }

    [Fact]
    public async Task IngestionIsRateLimitedPerKey()
    {
        var project = AuditClusterFixture.NewProjectId("rl");
        var key = await fixture.CreateApiKeyAsync(ApiKeyRole.EventWriter, project);
        await using var writer = await fixture.CreateClientAsync(key);
        await using var otherWriter = await fixture.CreateClientAsync(await fixture.CreateApiKeyAsync(ApiKeyRole.EventWriter, project));
        var ingest = writer.Grains.GetGrain<IIngestGrain>(0);
        var at = fixture.Clock.GetUtcNow().AddMinutes(-1);
        List<AuditEvent> Batch(int n) => [.. Enumerable.Range(0, n).Select(_ => EventFactory.Forbidden(project, at))];

        Assert.Equal(SecurityClusterFixture.Burst, (await ingest.IngestAsync(project, Batch(SecurityClusterFixture.Burst))).Accepted);
        var refused = Batch(5);
        var ex = await Assert.ThrowsAsync<RateLimitExceededException>(() => ingest.IngestAsync(project, refused));
        Assert.Contains("Rate limit exceeded", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{SecurityClusterFixture.EventsPerSecond} events per second", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.RetryAfter > TimeSpan.Zero);
        Assert.DoesNotContain(key, ex.Message, StringComparison.Ordinal);

        // Another key has its own bucket.
        Assert.Equal(5, (await otherWriter.Grains.GetGrain<IIngestGrain>(0).IngestAsync(project, Batch(5))).Accepted);

        // The bucket refills with time: the refused batch goes through unchanged after a second.
        fixture.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(5, (await ingest.IngestAsync(project, refused)).Accepted);

        // A client sending with IngestWithRetryAsync waits as long as the silo says and sends the batch again.
        var waits = new List<TimeSpan>();
        var sending = writer.Grains.IngestWithRetryAsync(project, Batch(SecurityClusterFixture.EventsPerSecond), onRetry: (e, _, wait) =>
        {
            Assert.IsType<RateLimitExceededException>(e);
            lock (waits)
            {
                waits.Add(wait);
            }
        }, time: fixture.Clock);
        for (var i = 0; i < 500 && !sending.IsCompleted; i++)
        {
            await Task.Delay(10);
            fixture.Clock.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(SecurityClusterFixture.EventsPerSecond, (await sending).Accepted);
        Assert.NotEmpty(waits);
        Assert.All(waits, w => Assert.InRange(w, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1)));

        // A batch larger than the burst never fits: refused at once, not retried.
        var tooBig = await Assert.ThrowsAsync<RateLimitExceededException>(() => writer.Grains.IngestWithRetryAsync(project, Batch(SecurityClusterFixture.Burst + 1), time: fixture.Clock));
        Assert.Equal(TimeSpan.Zero, tooBig.RetryAfter);
    }

    [Fact]
    public async Task OwnerManagesKeys()
    {
        var project = AuditClusterFixture.NewProjectId("km");
        var keys = fixture.Grains.GetGrain<IApiKeyGrain>(0);

        var created = await keys.CreateAsync(ApiKeyRole.AlertsManager, project, "SOC team");
        Assert.StartsWith("ao_" + created.Key.Id + "_", created.Secret, StringComparison.Ordinal);
        Assert.Equal((ApiKeyRole.AlertsManager, project, "SOC team"), (created.Key.Role, created.Key.ProjectId, created.Key.Description));

        var listed = Assert.Single(await keys.ListAsync(false), k => k.Id == created.Key.Id);
        Assert.Equal(created.Key, listed);
        Assert.Contains(await keys.ListAsync(false), static k => k.Role == ApiKeyRole.Owner && k.ProjectId is null);

        // The new key works for its role, then not after revocation (at once on this silo).
        await using (var manager = await fixture.CreateClientAsync(created.Secret))
        {
            await manager.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "pl-waw")).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });
            var revoked = await keys.RevokeAsync(created.Key.Id);
            Assert.NotNull(revoked?.RevokedAt);
            await Assert.ThrowsAsync<AccessDeniedException>(() => manager.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "pl-waw")).GetAsync());
        }

        Assert.DoesNotContain(await keys.ListAsync(false), k => k.Id == created.Key.Id);
        Assert.True(Assert.Single(await keys.ListAsync(true), k => k.Id == created.Key.Id).IsRevoked);
        Assert.Null(await keys.RevokeAsync(created.Key.Id));

        await Assert.ThrowsAsync<ArgumentException>(() => keys.CreateAsync(ApiKeyRole.Owner, project, null));
        await Assert.ThrowsAsync<ArgumentException>(() => keys.CreateAsync(ApiKeyRole.EventWriter, null, null));
        await Assert.ThrowsAsync<ArgumentException>(() => keys.CreateAsync(ApiKeyRole.ReadOnly, "bad project!", null));
        await Assert.ThrowsAsync<ArgumentException>(() => keys.CreateAsync(ApiKeyRole.ReadOnly, project, "line\nbreak"));
        await Assert.ThrowsAsync<ArgumentException>(() => keys.CreateAsync((ApiKeyRole)42, project, null));

        // Secrets are never logged; the key id is.
        Assert.DoesNotContain(created.Secret, fixture.Logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(AuditClusterFixture.OwnerApiKey, fixture.Logs.Text, StringComparison.Ordinal);
        Assert.Contains(created.Key.Id, fixture.Logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSilosOwnCallsAreTrustedButAForgedMarkerIsNot()
    {
        var project = AuditClusterFixture.NewProjectId("in");
        var silo = (InProcessSiloHandle)fixture.Cluster.Primary!;
        var inside = silo.SiloHost.Services.GetRequiredService<IGrainFactory>();
        var config = await inside.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync();
        Assert.Equal(project, config.ProjectId);

        await using var forger = await fixture.CreateClientAsync(null, client => client.AddOutgoingGrainCallFilter(context =>
        {
            RequestContext.Set(Security.InternalCallToken.RequestContextKey, new string('0', 64));
            return context.Invoke();
        }));
        await Assert.ThrowsAsync<AccessDeniedException>(() => forger.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync());
    }

    private async Task<string> RevokedAsync(string secret)
    {
        Assert.True(Security.ApiKeySecret.TryParse(secret, out var id));
        Assert.NotNull(await fixture.Grains.GetGrain<IApiKeyGrain>(0).RevokeAsync(id));
        return secret;
    }

    private static async Task<List<string>> ActiveKeysAsync(IManagementGrain management, string grainType) =>
        [.. (await management.GetActiveGrains(GrainType.Create(grainType))).Select(static g => g.Key.ToString()!)];
}
