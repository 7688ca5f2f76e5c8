using System.Reflection;
using AuditOrleans.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Runtime;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// Attacks on the front door, performed through real external clients over the gateway's TCP
/// port: a client that forges its sender id, a client that calls Orleans' own system targets,
/// a client that presents what a reader of the database could find, a client that sends an
/// oversized frame. Each attack is refused before it acts, and nothing of it is stored.
/// </summary>
[Collection(SecurityCollection.Name)]
public sealed class FrontDoorTests(SecurityClusterFixture fixture)
{
    private static readonly Type OutsideRuntimeClient =
        typeof(IClusterClient).Assembly.GetType("Orleans.OutsideRuntimeClient", throwOnError: true)!;

    public static TheoryData<string> ForgedSenders => new()
    {
        "a grain",                // the detector of the victim's project-region: looks like a grain-to-grain call
        "the silo's hosted client", // sys.client/hosted-{silo}: looks like the silo's own background services
    };

    [Theory]
    [MemberData(nameof(ForgedSenders))]
    public async Task AKeylessClientThatForgesItsSenderIsRefusedAndChangesNothing(string forgedAs)
    {
        var victim = AuditClusterFixture.NewProjectId("door");
        var config = fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(victim, "fr-par"));
        await config.SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });

        await using var attacker = await ShortTimeoutClientAsync(apiKey: null);
        var forged = forgedAs == "a grain"
            ? fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(victim, "fr-par")).GetGrainId()
            : GrainId.Create(GrainTypePrefix.ClientGrainType, "hosted-" + fixture.Cluster.Primary!.SiloAddress.ToParsableString());
        ForgeSender(attacker.Client, forged);

        var attempts = new Func<IGrainFactory, Task>[]
        {
            g => g.GetGrain<IIngestGrain>(0).IngestAsync(victim, [EventFactory.Forbidden(victim, AuditClusterFixture.Epoch)]),
            g => g.GetGrain<IAlertConfigGrain>(Scope.Key(victim, "fr-par")).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = false }),
            g => g.GetGrain<INotificationContactsGrain>(victim).AddAsync("attacker@example.net", NotificationType.Security),
            g => g.GetGrain<IApiKeyGrain>(0).CreateAsync(ApiKeyRole.Owner, null, "attacker"),
        };
        // All at once: a refused message is dropped with its connection, so each call ends at the client's timeout.
        var refused = attempts.Select(attempt => Assert.ThrowsAnyAsync<Exception>(() => attempt(attacker.Grains))).ToArray();
        await Task.WhenAll(refused);

        // Nothing happened, as the owner sees it.
        Assert.True((await config.GetAsync()).IsActive(AlertName.HttpForbiddenErrorRateHigh));
        Assert.Empty(await fixture.Grains.GetGrain<INotificationContactsGrain>(victim).GetAsync());
        Assert.Empty((await fixture.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery { ProjectId = victim })).Records);
        Assert.DoesNotContain((await fixture.Grains.GetGrain<IApiKeyGrain>(0).ListAsync(includeRevoked: true)), k => k.Description == "attacker");
        Assert.Contains(Refusals(), r => r.Contains("not as the connection's client", StringComparison.Ordinal));
    }

    public static TheoryData<string> Callers => new() { "anonymous", nameof(ApiKeyRole.EventWriter), nameof(ApiKeyRole.ReadOnly), nameof(ApiKeyRole.AlertsManager), nameof(ApiKeyRole.Owner) };

    [Theory]
    [MemberData(nameof(Callers))]
    public async Task OrleansSiloControlIsOutOfEveryClientsReach(string caller)
    {
        var project = AuditClusterFixture.NewProjectId("door");
        var key = caller switch
        {
            "anonymous" => null,
            nameof(ApiKeyRole.Owner) => AuditClusterFixture.OwnerApiKey,
            _ => await fixture.CreateApiKeyAsync(Enum.Parse<ApiKeyRole>(caller), project),
        };
        await using var client = await ShortTimeoutClientAsync(key);

        // ISiloControl is internal to Orleans; an attacker reaches it the same way, by reflection.
        var siloControl = typeof(IClusterClient).Assembly.GetType("Orleans.ISiloControl", throwOnError: true)!;
        var target = SystemTargetGrainId.Create(SystemTargetGrainId.CreateGrainType("silo-control"), fixture.Cluster.Primary!.SiloAddress).GrainId;
        var getGrain = typeof(IGrainFactory).GetMethods()
            .Single(m => m.Name == nameof(IGrainFactory.GetGrain) && m.IsGenericMethod && m.GetParameters() is [{ ParameterType: var p }] && p == typeof(GrainId))
            .MakeGenericMethod(siloControl);
        var reference = getGrain.Invoke(client.Grains, [target])!;
        var calls = new[] { "GetActivationCount", "GetDetailedGrainStatistics", "ForceActivationCollection" }.Select(method =>
        {
            var info = siloControl.GetMethods().Concat(siloControl.GetInterfaces().SelectMany(i => i.GetMethods())).First(m => m.Name == method);
            var arguments = info.GetParameters().Select(p => p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null).ToArray();
            return Assert.ThrowsAnyAsync<Exception>(() => (Task)info.Invoke(reference, arguments)!);
        }).ToArray();
        await Task.WhenAll(calls);

        Assert.Contains(Refusals(), r => r.Contains("a call to Orleans' internal target sys.svc.silo-control", StringComparison.Ordinal));

        // The application's own grains stay reachable behind the key check.
        await using var fresh = await fixture.CreateClientAsync(AuditClusterFixture.OwnerApiKey);
        Assert.Equal(project, (await fresh.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync()).ProjectId);
    }

    [Fact]
    public async Task NothingADatabaseReaderFindsGrantsAccess()
    {
        var project = AuditClusterFixture.NewProjectId("door");
        var found = new List<string>();
        await using (var connection = new SqliteConnection(fixture.ConnectionString + ";Mode=ReadOnly"))
        {
            await connection.OpenAsync();
            await using var settings = connection.CreateCommand();
            settings.CommandText = "SELECT name, value FROM security_settings";
            await using (var reader = await settings.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    Assert.NotEqual(Security.SecurityBootstrap.ObsoleteInternalTokenSetting, reader.GetString(0));
                    found.Add(reader.GetString(1));
                }
            }

            await using var keys = connection.CreateCommand();
            keys.CommandText = "SELECT id, salt, hash FROM api_keys";
            await using (var reader = await keys.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    found.Add(reader.GetString(1));
                    found.Add(reader.GetString(2));
                    found.Add($"{reader.GetString(0)}_{reader.GetString(2)}");
                }
            }
        }

        Assert.NotEmpty(found);
        foreach (var value in found.Distinct())
        {
            // Presented as the silos' internal marker...
            await using (var marker = await fixture.CreateClientAsync(null, client => client.AddOutgoingGrainCallFilter(context =>
            {
                RequestContext.Set(Security.InternalCallToken.RequestContextKey, value);
                return context.Invoke();
            })))
            {
                await Assert.ThrowsAsync<AccessDeniedException>(() => marker.Grains.GetGrain<IApiKeyGrain>(0).CreateAsync(ApiKeyRole.Owner, null, "from the database"));
                await Assert.ThrowsAsync<AccessDeniedException>(() => marker.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync());
            }

            // ...and as an API key.
            await using var asKey = await fixture.CreateClientAsync(value);
            await Assert.ThrowsAsync<AccessDeniedException>(() => asKey.Grains.GetGrain<IApiKeyGrain>(0).ListAsync(includeRevoked: true));
        }

        Assert.DoesNotContain(await fixture.Grains.GetGrain<IApiKeyGrain>(0).ListAsync(includeRevoked: true), k => k.Description == "from the database");
    }

    [Fact]
    public async Task AnOversizedMessageIsRefusedOnItsLengthBeforeTheSiloReadsIt()
    {
        var project = AuditClusterFixture.NewProjectId("door");
        await using var attacker = await ShortTimeoutClientAsync(apiKey: null);
        var body = new string('x', 60 * 1024);
        var events = Enumerable.Range(0, 400)
            .Select(i => EventFactory.Forbidden(project, AuditClusterFixture.Epoch) with { Id = $"big-{i}", UserAgent = body[..1000], RequestBody = "\"" + body + "\"" })
            .ToList();

        await Assert.ThrowsAnyAsync<Exception>(() => attacker.Grains.GetGrain<IIngestGrain>(0).IngestAsync(project, events));
        Assert.Contains(Refusals(), r => r.Contains("a message body of", StringComparison.Ordinal));
        Assert.Empty((await fixture.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery { ProjectId = project })).Records);
    }

    [Fact]
    public async Task RefusedCallsCostOneShortLogLineEachAtMost()
    {
        await using var anonymous = await fixture.CreateClientAsync(null);
        var before = fixture.Logs.Lines.Count;
        for (var i = 0; i < 100; i++)
        {
            // A new project each time: the refusal happens at activation, the costliest path.
            var project = AuditClusterFixture.NewProjectId("noisy");
            await Assert.ThrowsAsync<AccessDeniedException>(() => anonymous.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-pa")).GetAsync());
        }

        var added = fixture.Logs.Lines.Skip(before)
            .Where(l => !l.StartsWith("Debug", StringComparison.Ordinal) && !l.StartsWith("Trace", StringComparison.Ordinal))
            .Where(l => !l.StartsWith("Information Polly", StringComparison.Ordinal)) // placement retries: Warning in the silo's appsettings.json
            .ToList();
        Assert.DoesNotContain(added, l => l.Contains("   at ", StringComparison.Ordinal));
        Assert.DoesNotContain(added, l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Warning", StringComparison.Ordinal));
        Assert.True(added.Count <= Security.RefusalLog.LinesPerMinute + 1, $"{added.Count} lines for 100 refusals:\n{string.Join("\n", added.Take(10))}");
    }

    /// <summary>The silo's latest refusals (its log writes only the first 20 a minute, and the cluster's clock stands still).</summary>
    private IReadOnlyList<string> Refusals() =>
        ((Orleans.TestingHost.InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredService<Security.RefusalLog>().Recent;

    private Task<TestClient> ShortTimeoutClientAsync(string? apiKey) =>
        fixture.CreateClientAsync(apiKey, client => client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(3)));

    /// <summary>What an attacker does with reflection: rewrites the sender id the Orleans client stamps on its messages.</summary>
    private static void ForgeSender(IClusterClient client, GrainId sender)
    {
        var runtime = client.ServiceProvider.GetRequiredService(OutsideRuntimeClient);
        var property = OutsideRuntimeClient.GetProperty("CurrentActivationAddress", BindingFlags.Public | BindingFlags.Instance)!;
        var current = (GrainAddress)property.GetValue(runtime)!;
        property.SetValue(runtime, new GrainAddress { GrainId = sender, ActivationId = current.ActivationId, SiloAddress = current.SiloAddress });
    }
}
