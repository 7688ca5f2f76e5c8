using System.Diagnostics;
using System.Globalization;
using AuditOrleans.Testing;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace AuditOrleans.Cluster.Tests;

/// <summary>
/// Real silo processes (the host as shipped) on one PostgreSQL database with ADO.NET clustering:
/// they start together (and apply the schema concurrently), form a cluster, lose one silo to
/// kill -9 without losing or duplicating events or alerts, and take it back.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SiloClusterTests(PostgresClusterFixture fixture, ITestOutputHelper output)
{
    private const string ServiceId = "auditorleans-cluster-test";
    private const int Active = 3;
    private const int Dead = 6;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    [PostgresFact]
    public async Task TwoSilosFormAClusterSurviveKillNineAndTheKilledSiloRejoins()
    {
        var connectionString = await fixture.Server!.CreateDatabaseAsync("silos");
        var clusterId = "c-" + Guid.NewGuid().ToString("N")[..12];
        var ports = FreePort.Next(4);
        await using var smtp = new SmtpTestServer();
        smtp.Start();
        var checkpointKey = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var a = NewSilo("silo-a", connectionString, clusterId, ports[0], ports[1], smtp.Port, checkpointKey);
        await using var b = NewSilo("silo-b", connectionString, clusterId, ports[2], ports[3], smtp.Port, checkpointKey);
        try
        {
            // Both silos start at the same moment on an empty database: both apply the schema.
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(a.StartAsync(StartTimeout), b.StartAsync(StartTimeout));
            output.WriteLine($"two silos ready in {clock.Elapsed.TotalSeconds:0.0} s");
            Assert.Contains("Applied schema script 001-schema.sql", a.Output, StringComparison.Ordinal);
            Assert.Contains("Applied schema script 001-schema.sql", b.Output, StringComparison.Ordinal);
            Assert.Equal(1, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM schema_version WHERE component = 'auditorleans'"));
            Assert.Equal(14, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM OrleansQuery"));
            await WaitForMembershipAsync(connectionString, clusterId, [(ports[0], Active), (ports[2], Active)]);

            await using var client = await TestClient.ConnectAsync(clusterId, ServiceId, [ports[1], ports[3]], StartTimeout);
            var grains = client.Client;
            var project = AuditClusterFixture.NewProjectId("k");
            var key = Scope.Key(project, "fr-par");
            await grains.GetGrain<IAlertConfigGrain>(key).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });
            await grains.GetGrain<INotificationContactsGrain>(project).AddAsync("soc@example.com", NotificationType.Security);

            // A custom rule (docs/rules.md) whose fourth match comes after the failover: the survivor's
            // detector must read the rule from grain storage and rebuild its window from the log.
            await grains.GetGrain<IAlertConfigGrain>(key).CreateRuleAsync(new AlertRuleDraft
            {
                Name = "user-1-refused", Query = "event.status_code == 403 && event.principal.id == 'user-1'",
                EvaluationWindow = TimeSpan.FromMinutes(5), Occurrences = 4, Severity = RuleSeverity.Error, DryRun = true,
            });

            var t0 = DateTimeOffset.UtcNow.AddMinutes(-3);
            var events = IngestRetry.WithIds([.. Enumerable.Range(0, 21).Select(i => EventFactory.Forbidden(project, t0.AddSeconds(i), principal: $"user-{i % 4}"))]);
            var first = await grains.IngestWithRetryAsync(project, events.Take(12).ToList());
            Assert.Equal((12, 0), (first.Accepted, first.Duplicates));
            Assert.DoesNotContain(await HistoryAsync(grains, project), static f => f.Kind != AlertKind.RuleChanged);

            // Kill -9 the silo that hosts the project-region's detector (the grain that appends
            // and detects), so that the next batch must fail over to the other silo.
            var host = await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(grains.GetGrain<IDetectorGrain>(key));
            Assert.NotNull(host);
            var (victim, survivor) = host.Endpoint.Port == ports[0] ? (a, b) : (b, a);
            var (victimSiloPort, victimGatewayPort) = victim == a ? (ports[0], ports[1]) : (ports[2], ports[3]);
            await victim.KillAsync();

            clock.Restart();
            var retries = new List<string>();
            var second = await grains.IngestWithRetryAsync(project, events.Skip(12).ToList(), onRetry: (ex, n, wait) => retries.Add($"{n}: {ex.GetType().Name}"));
            var failover = clock.Elapsed;
            output.WriteLine($"9 events stored {failover.TotalSeconds:0.0} s after kill -9 of {victim.Name}; retries: {string.Join(", ", retries)}");
            Assert.Equal(9, second.Accepted + second.Duplicates);
            Assert.Empty(second.Errors);
            Assert.True(failover < TimeSpan.FromSeconds(30), $"Failover took {failover.TotalSeconds:0.0} s.");

            // A client whose answer was lost sends its batch again: nothing is stored twice.
            var replay = await grains.IngestWithRetryAsync(project, events.Take(12).ToList());
            Assert.Equal((0, 12), (replay.Accepted, replay.Duplicates));

            // 21 events stored once each, the chain intact, exactly one alert, one email.
            Assert.Equal(21, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM audit_events WHERE project_id = @p", ("p", project)));
            Assert.Equal(21, await ScalarAsync<long>(connectionString, "SELECT count(DISTINCT event_id) FROM audit_events WHERE project_id = @p", ("p", project)));
            var report = await grains.GetGrain<IAuditLogGrain>(0).VerifyAsync(project, "fr-par");
            Assert.True(report.IsValid, report.Reason);
            Assert.Equal(21, report.HeadSequence);
            // (Five minutes after the last 403 the episode's resolved notice may follow: a slow run may see it.)
            var fired = Assert.Single(await HistoryAsync(grains, project), static f => f.Kind == AlertKind.Firing && f.Alert == AlertName.HttpForbiddenErrorRateHigh);
            var ruleFiring = Assert.Single(await HistoryAsync(grains, project), static f => f.Kind == AlertKind.Firing && f.Alert == AlertName.CustomRule);
            Assert.Equal((events[13].Id, 4), (ruleFiring.Facts.EventId, ruleFiring.Facts.MatchCount));
            Assert.Empty(ruleFiring.Deliveries);
            Assert.Equal(21, fired.Facts.ForbiddenCount);
            Assert.Equal("soc@example.com", Assert.Single(fired.Deliveries).Recipient);
            var mail = Assert.Single(await smtp.WaitForMessagesAsync("soc@example.com", 1, TimeSpan.FromSeconds(60)));
            Assert.Contains(nameof(AlertName.HttpForbiddenErrorRateHigh), mail.Message.Subject, StringComparison.Ordinal);
            output.WriteLine($"alert email received {clock.Elapsed.TotalSeconds:0.0} s after kill -9");

            // The killed silo comes back on the same ports: it joins as a new generation and its
            // old row is marked dead.
            clock.Restart();
            await victim.StartAsync(StartTimeout);
            await WaitForMembershipAsync(connectionString, clusterId, [(victimSiloPort, Active), (victimSiloPort, Dead), (survivor == a ? ports[0] : ports[2], Active)]);
            output.WriteLine($"{victim.Name} rejoined in {clock.Elapsed.TotalSeconds:0.0} s");

            await using (var direct = await TestClient.ConnectAsync(clusterId, ServiceId, [victimGatewayPort], StartTimeout))
            {
                var status = await direct.Client.GetGrain<IDetectorGrain>(key).GetStatusAsync();
                Assert.Equal(21, status.HeadSequence);
                Assert.True(status.EpisodeAlerted);
            }

            // The rejoined silo published a checkpoint of the chain at start, signed with the
            // cluster's key: the other silo verifies it.
            await WaitForAsync(async () => await ScalarAsync<long>(connectionString, "SELECT count(*) FROM audit_checkpoints WHERE project_id = @p AND seq = 21", ("p", project)) == 1, "the checkpoint of the chain head");
            await using (var other = await TestClient.ConnectAsync(clusterId, ServiceId, [survivor == a ? ports[1] : ports[3]], StartTimeout))
            {
                var verified = await other.Client.GetGrain<IAuditLogGrain>(0).VerifyAsync(project, "fr-par");
                Assert.True(verified.IsValid, verified.Reason);
            }

            // The rejoined silo finds nothing pending: the alert is still sent once only.
            var history = Assert.Single(await HistoryAsync(grains, project), static f => f.Kind == AlertKind.Firing && f.Alert == AlertName.HttpForbiddenErrorRateHigh);
            Assert.Equal(DeliveryState.Delivered, Assert.Single(history.Deliveries).State);
            Assert.Single(smtp.MessagesTo("soc@example.com"), static m => !IsResolvedNotice(m.Message.Subject));

            // The outbox's silo dies while a delivery waits for the SMTP server to come back:
            // the other silo brings the outbox back and the email goes out once.
            await grains.GetGrain<IAlertConfigGrain>(key).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.ApiKeyCreated] = true });
            await smtp.StopAsync();
            var created = await grains.IngestWithRetryAsync(project, [EventFactory.ApiKey(project, DateTimeOffset.UtcNow.AddSeconds(-5), "CreateAPIKey", 200)]);
            Assert.Equal(1, created.Accepted);
            var pending = Assert.Single(await HistoryAsync(grains, project, AlertName.ApiKeyCreated));
            await WaitForAsync(async () => (await HistoryAsync(grains, project, AlertName.ApiKeyCreated))[0].Deliveries[0].State == DeliveryState.Retrying, "the delivery to be retrying");
            var outbox = await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(grains.GetGrain<INotificationGrain>(0));
            Assert.NotNull(outbox);
            var outboxSilo = outbox.Endpoint.Port == ports[0] ? a : b;
            var last = outboxSilo == a ? b : a;
            await outboxSilo.KillAsync();
            smtp.Start();
            clock.Restart();
            await WaitForAsync(() => Task.FromResult(smtp.MessagesTo("soc@example.com").Any(static m => (m.Message.Subject ?? "").Contains(nameof(AlertName.ApiKeyCreated), StringComparison.Ordinal))), "the ApiKeyCreated email");
            output.WriteLine($"email of a firing whose outbox silo was killed received {clock.Elapsed.TotalSeconds:0.0} s after kill -9 of {outboxSilo.Name}");
            await WaitForAsync(async () => (await HistoryAsync(grains, project, AlertName.ApiKeyCreated))[0].Deliveries[0].State == DeliveryState.Delivered, "the delivery to be recorded as delivered");
            Assert.Equal(2, smtp.MessagesTo("soc@example.com").Count(static m => !IsResolvedNotice(m.Message.Subject)));
            Assert.Equal(pending.Id, Assert.Single(await HistoryAsync(grains, project, AlertName.ApiKeyCreated)).Id);

            // SIGTERM: the last silo stops cleanly.
            Assert.Equal(0, await last.StopAsync());
            Assert.Contains("AuditOrleans silo stopped", last.Output, StringComparison.Ordinal);
        }
        catch
        {
            output.WriteLine(a.Output);
            output.WriteLine(b.Output);
            throw;
        }
    }

    private static SiloProcess NewSilo(string name, string connectionString, string clusterId, int siloPort, int gatewayPort, int smtpPort, string checkpointKey)
    {
        var silo = SiloProcess.PostgresClusterMember(name, connectionString, clusterId, ServiceId, siloPort, gatewayPort, checkpointKey);
        silo.Settings["Security:Enabled"] = "false";
        silo.Settings["Smtp:Host"] = "127.0.0.1";
        silo.Settings["Smtp:Port"] = smtpPort.ToString(CultureInfo.InvariantCulture);
        silo.Settings["Smtp:Security"] = "None";
        silo.Settings["Smtp:InitialRetryDelay"] = "00:00:01";
        silo.Settings["Smtp:MaxRetryDelay"] = "00:00:02";
        return silo;
    }

    private static bool IsResolvedNotice(string? subject) => subject is not null && subject.StartsWith("[AuditOrleans] Resolved:", StringComparison.Ordinal);

    private static Task<IReadOnlyList<FiredAlert>> HistoryAsync(IGrainFactory grains, string project, AlertName? alert = null) =>
        grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project, Alert = alert });

    /// <summary>Polls a condition that depends on other processes, with a time limit.</summary>
    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var limit = Stopwatch.StartNew();
        while (!await TransientAsFalse(condition))
        {
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(60), $"Timed out waiting for {what}.");
            await Task.Delay(200);
        }
    }

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<bool> TransientAsFalse(Func<Task<bool>> condition)
    {
        try
        {
            return await condition();
        }
        catch (Exception ex) when (IngestRetry.IsTransient(ex))
        {
            // A call that went to the silo just killed: ask again.
            return false;
        }
    }

    /// <summary>Polls the membership table until it holds exactly the expected (port, status) rows.</summary>
    private static async Task WaitForMembershipAsync(string connectionString, string clusterId, IReadOnlyList<(int Port, int Status)> expected)
    {
        var want = expected.Order().ToList();
        var limit = Stopwatch.StartNew();
        List<(int, int)> seen = [];
        while (limit.Elapsed < TimeSpan.FromSeconds(60))
        {
            seen = [];
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT Port, Status FROM OrleansMembershipTable WHERE DeploymentId = @c ORDER BY Port, Status", connection);
                command.Parameters.AddWithValue("c", clusterId);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    seen.Add((reader.GetInt32(0), reader.GetInt32(1)));
                }
            }

            if (seen.Order().SequenceEqual(want))
            {
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"Membership rows are [{string.Join(", ", seen)}], expected [{string.Join(", ", want)}].");
    }
}
