using AuditOrleans.Grains;
using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.TestingHost;
using Xunit;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.AuditLog;

namespace AuditOrleans.Cluster.Tests;

/// <summary>The audit log, alerts and contacts on PostgreSQL: the same statements as on SQLite.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresLogTests(PostgresClusterFixture fixture)
{
    private IIngestGrain Ingest => fixture.Grains.GetGrain<IIngestGrain>(0);

    private IAuditLogGrain Log => fixture.Grains.GetGrain<IAuditLogGrain>(0);

    [PostgresFact]
    public async Task EventsAreAppendedQueriedAndVerified()
    {
        var project = AuditClusterFixture.NewProjectId();
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-20);
        var events = Enumerable.Range(0, 5).Select(i => EventFactory.Ok(project, t0.AddSeconds(i).AddTicks(i * 13), $"srv-{i}")).ToList();
        events.Add(EventFactory.Forbidden(project, t0.AddSeconds(10), region: "pl-waw"));

        var result = await Ingest.IngestAsync(project, events);
        var again = await Ingest.IngestAsync(project, events[..2]);

        Assert.Equal((6, 0, 0), (result.Accepted, result.Duplicates, result.Rejected));
        Assert.Equal((0, 2), (again.Accepted, again.Duplicates));

        var page = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), PageSize = 4 });
        Assert.Equal(4, page.Records.Count);
        Assert.Equal(events[5].Id, page.Records[0].Event.Id);
        Assert.NotNull(page.ContinuationToken);
        var rest = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), PageSize = 4, ContinuationToken = page.ContinuationToken });
        Assert.Equal([events[1].Id, events[0].Id], rest.Records.Select(static r => r.Event.Id));
        Assert.Null(rest.ContinuationToken);

        // Microseconds survive the round trip.
        Assert.Equal(events[1].RecordedAt!.Value.UtcTicks / 10, rest.Records[0].Event.RecordedAt!.Value.UtcTicks / 10);

        var byResource = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), ResourceId = "srv-3" });
        Assert.Equal(events[3].Id, Assert.Single(byResource.Records).Event.Id);
        var forbidden = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), StatusCode = 403, Region = "pl-waw" });
        Assert.Single(forbidden.Records);

        // A principal filter reads one range per region and status code, merged (deploy/sql 008).
        var byPrincipal = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), PrincipalId = "admin-7", PageSize = 3 });
        Assert.Equal([events[4].Id, events[3].Id, events[2].Id], byPrincipal.Records.Select(static r => r.Event.Id));
        var nextByPrincipal = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), PrincipalId = "admin-7", PageSize = 3, ContinuationToken = byPrincipal.ContinuationToken });
        Assert.Equal([events[1].Id, events[0].Id], nextByPrincipal.Records.Select(static r => r.Event.Id));
        var ipForbidden = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), SourceIp = "198.51.100.7", StatusClass = 4 });
        Assert.Equal(events[5].Id, Assert.Single(ipForbidden.Records).Event.Id);

        var report = await Log.VerifyAsync(project, "fr-par");
        Assert.True(report.IsValid, report.Reason);
        Assert.Equal(5, report.EventsChecked);
        Assert.Equal(5, report.HeadSequence);
    }

    [PostgresFact]
    public async Task ForbiddenBurstFiresOnceWithFactsAndOneDeliveryPerSecurityContact()
    {
        var project = AuditClusterFixture.NewProjectId();
        await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par"))
            .SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });
        var contacts = fixture.Grains.GetGrain<INotificationContactsGrain>(project);
        await contacts.AddAsync("secops@example.com", NotificationType.Security);
        await contacts.AddAsync("billing@example.com", NotificationType.Billing);
        var both = await contacts.AddAsync("billing@example.com", NotificationType.Security);
        Assert.Equal(NotificationType.Security | NotificationType.Billing, both.Types);

        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-10);
        var burst = Enumerable.Range(0, 25)
            .Select(i => EventFactory.Forbidden(project, t0.AddSeconds(i), principal: i % 3 == 0 ? "intruder" : "user-1", ip: i % 2 == 0 ? "198.51.100.7" : "203.0.113.5"))
            .ToList();
        await Ingest.IngestAsync(project, burst[..12]);
        await Ingest.IngestAsync(project, burst[12..]);

        var fired = Assert.Single(await Log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project }));
        Assert.Equal(AlertName.HttpForbiddenErrorRateHigh, fired.Alert);
        Assert.Equal(21, fired.Facts.ForbiddenCount);
        Assert.Equal([("user-1", 14), ("intruder", 7)], fired.Facts.TopPrincipals.Select(static c => (c.Value, c.Count)));
        Assert.Equal(["billing@example.com", "secops@example.com"], fired.Deliveries.Select(static d => d.Recipient));
        Assert.Equal(2, (await contacts.GetAsync()).Count);
        Assert.True(await contacts.RemoveAsync("billing@example.com"));
    }

    [PostgresFact]
    public async Task SignInsAndCustomRulesOnPostgreSqlOutliveARestart()
    {
        var organization = AuditClusterFixture.NewProjectId();
        var key = Scope.Key(organization, "fr-par");
        await fixture.Grains.GetGrain<IAlertConfigGrain>(key).CreateRuleAsync(new AlertRuleDraft
        {
            Name = "failed-sign-ins", Query = "event.kind == 'authentication' && event.result == 'failure'",
            EvaluationWindow = TimeSpan.FromMinutes(5), Occurrences = 3, Severity = RuleSeverity.Critical,
        });
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-4);
        AuditEvent SignIn(int i) => AuditEventJson.Parse(
            $$$"""{"auth":{"id":"{{{organization}}}-{{{i}}}","recorded_at":"{{{AuditEventJson.FormatTime(t0.AddSeconds(i * 20))}}}","organization_id":"{{{organization}}}","source_ip":"203.0.113.9","result":"failure","failure_reason":"invalid_password","method":"password","country_code":"FR"}}""");
        Assert.Equal(2, (await Ingest.IngestAsync("default", [SignIn(0), SignIn(1)])).Accepted);

        await fixture.RestartAsync();
        Assert.Equal("failed-sign-ins", Assert.Single((await fixture.Grains.GetGrain<IAlertConfigGrain>(key).GetAsync()).Rules).Name);
        await Ingest.IngestAsync("default", [SignIn(2)]);

        var fired = Assert.Single(await Log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = organization }), static f => f.Kind == AlertKind.Firing);
        Assert.Equal((AlertName.CustomRule, AlertSeverity.Critical, $"{organization}-2"), (fired.Alert, fired.Severity, fired.Facts.EventId));
        var page = await Log.QueryAsync(new AuditQuery { ProjectId = organization, Kind = EventKind.Authentication, RecordedAfter = t0.AddMinutes(-1) });
        Assert.Equal(3, page.Records.Count);
        Assert.True((await Log.VerifyAsync(organization, "fr-par")).IsValid);
        Assert.Equal("authentication", await ScalarTextAsync("SELECT DISTINCT kind FROM audit_events WHERE project_id = @p", organization));
        Assert.Equal("0", await ScalarTextAsync("SELECT CAST(MAX(status_code) AS text) FROM audit_events WHERE project_id = @p", organization));
    }

    private async Task<string?> ScalarTextAsync(string sql, string project)
    {
        await using var connection = new NpgsqlConnection(fixture.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("p", project);
        return (string?)await command.ExecuteScalarAsync();
    }

    [PostgresFact]
    public async Task AnEpisodeOutlivesARestartAndIsResolvedOnce()
    {
        var project = AuditClusterFixture.NewProjectId();
        var key = Scope.Key(project, "fr-par");
        await fixture.Grains.GetGrain<IAlertConfigGrain>(key)
            .SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-1);
        await Ingest.IngestAsync(project, [.. Enumerable.Range(0, 25).Select(i => EventFactory.Forbidden(project, t0.AddSeconds(i)))]);
        var opening = Assert.Single(await Log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project }));

        await fixture.RestartAsync();
        Assert.Equal(opening.Id, (await fixture.Grains.GetGrain<IDetectorGrain>(key).GetStatusAsync()).OpenEpisodeId);
        await Ingest.IngestAsync(project, [.. Enumerable.Range(25, 10).Select(i => EventFactory.Forbidden(project, t0.AddSeconds(i)))]);

        fixture.Clock.Advance(TimeSpan.FromMinutes(6));
        await fixture.Grains.GetGrain<IDetectorGrain>(key).CheckEpisodeAsync();

        var history = await Log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project });
        Assert.Equal([AlertKind.Resolved, AlertKind.Firing], history.Select(static f => f.Kind));
        Assert.Equal(opening.Id, history[0].EpisodeId);
        Assert.Equal(35, history[0].Facts.ForbiddenCount);
        Assert.Equal(t0, history[0].Facts.FirstEventTime);
        await using var connection = new NpgsqlConnection(fixture.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT state, resolved_by FROM alert_episodes WHERE project_id = @p", connection);
        command.Parameters.AddWithValue("p", project);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal((1, history[0].Id), (reader.GetInt32(0), reader.GetString(1)));
        Assert.False(await reader.ReadAsync());
    }

    [PostgresFact]
    public async Task RetentionCutsTheChainAndCheckpointsKeepItVerifiable()
    {
        var services = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;
        var chains = services.GetRequiredService<ChainVerifier>();
        var retention = services.GetRequiredService<LogRetention>();
        var signer = services.GetRequiredService<CheckpointSigner>();
        var project = AuditClusterFixture.NewProjectId();
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-30);
        await Ingest.IngestAsync(project, [.. Enumerable.Range(0, 5).Select(i => EventFactory.Ok(project, t0.AddSeconds(i), $"old-{i}"))]);

        // Checkpoints taken now, and a purge 91 days later (as its clock would say) with 90 days
        // of retention: everything ingested so far expires (this collection's other tests check
        // their own events within themselves, so cutting them too is harmless).
        var now = fixture.Clock.GetUtcNow();
        await chains.WriteCheckpointsAsync(signer.Sign, now);
        Assert.True(await retention.PurgeAsync(90, now.AddDays(91), signer) >= 5);
        var cut = await chains.VerifyAsync(project, "fr-par", signer, 90, now.AddDays(91));
        Assert.True(cut.IsValid, cut.Reason);
        Assert.Equal((0L, 5L, 5L), (cut.EventsChecked, cut.HeadSequence, cut.PurgedThroughSequence));

        // The purge is dated 91 days ahead of the cluster's clock: seen from now, it is in the future.
        var early = await Log.VerifyAsync(project, "fr-par");
        Assert.False(early.IsValid);
        Assert.Contains("in the future", early.Reason);

        var kept = Enumerable.Range(0, 3).Select(i => EventFactory.Ok(project, t0.AddMinutes(1).AddSeconds(i), $"new-{i}")).ToList();
        await Ingest.IngestAsync(project, kept);
        var checkpoints = await chains.WriteCheckpointsAsync(signer.Sign, fixture.Clock.GetUtcNow());
        var head = Assert.Single(checkpoints, c => c.ProjectId == project);
        Assert.Equal(8, head.Sequence);

        var report = await chains.VerifyAsync(project, "fr-par", signer, 90, now.AddDays(91), [head]);
        Assert.True(report.IsValid, report.Reason);
        Assert.Equal((3L, 8L), (report.EventsChecked, report.HeadSequence));
        Assert.Equal(head.Hash, Assert.Single(await chains.GetCheckpointsAsync(project, "fr-par", 10)).Hash);
        var page = await Log.QueryAsync(new AuditQuery { ProjectId = project, RecordedAfter = t0.AddMinutes(-1), Order = SortOrder.OldestFirst });
        Assert.Equal(kept.Select(static e => e.Id), page.Records.Select(static r => r.Event.Id));
    }

    [PostgresFact]
    public async Task DeletingTheOldestEventsBehindAForgedAnchorIsReported()
    {
        var services = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;
        var chains = services.GetRequiredService<ChainVerifier>();
        var retention = services.GetRequiredService<LogRetention>();
        var signer = services.GetRequiredService<CheckpointSigner>();
        var project = AuditClusterFixture.NewProjectId("anc");
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-30);
        await Ingest.IngestAsync(project, [.. Enumerable.Range(0, 5).Select(i => EventFactory.Ok(project, t0.AddSeconds(i), $"a-{i}"))]);
        var early = Assert.Single(await chains.WriteCheckpointsAsync(signer.Sign, fixture.Clock.GetUtcNow()), c => c.ProjectId == project);
        await Ingest.IngestAsync(project, [.. Enumerable.Range(5, 10).Select(i => EventFactory.Ok(project, t0.AddSeconds(i), $"a-{i}"))]);
        var late = Assert.Single(await chains.WriteCheckpointsAsync(signer.Sign, fixture.Clock.GetUtcNow()), c => c.ProjectId == project);
        Assert.Equal((5L, 15L), (early.Sequence, late.Sequence));

        // The attack, with SQL on the database: events 1..8 deleted, an anchor inserted at the cut,
        // with the signature of another chain's genuine anchor where there is one.
        await using var connection = new NpgsqlConnection(fixture.PostgresConnectionString);
        await connection.OpenAsync();
        await using (var command = new NpgsqlCommand(
            "INSERT INTO audit_chain_anchors (project_id, region, seq, hash, purged_at, retention_days, proven_at, signature) " +
            "SELECT project_id, region, seq, hash, @t, 90, 0, (SELECT signature FROM audit_chain_anchors WHERE signature IS NOT NULL LIMIT 1) " +
            "FROM audit_events WHERE project_id = @p AND region = 'fr-par' AND seq = 8; " +
            "DELETE FROM audit_event_resources WHERE project_id = @p AND seq <= 8; " +
            "DELETE FROM audit_events WHERE project_id = @p AND seq <= 8; " +
            "DELETE FROM audit_checkpoints WHERE project_id = @p AND seq <= 8;", connection))
        {
            command.Parameters.AddWithValue("p", project);
            command.Parameters.AddWithValue("t", DbTime.ToMicros(fixture.Clock.GetUtcNow()));
            await command.ExecuteNonQueryAsync();
        }

        foreach (var report in new[] { await Log.VerifyAsync(project, "fr-par"), await Log.VerifyAgainstAsync(project, "fr-par", [early, late]) })
        {
            Assert.False(report.IsValid);
            Assert.Equal(8, report.FirstBrokenSequence);
            Assert.Contains("retention anchor at position 8", report.Reason);
            Assert.True(report.Reason!.Contains("forged", StringComparison.Ordinal) || report.Reason.Contains("not signed", StringComparison.Ordinal), report.Reason);
        }
    }

    [PostgresFact]
    public Task AnEventTooDeepOnceStoredIsRefusedAndTheOnesAtTheLimitReadBack() =>
        DeepEventAttack.RunAsync(fixture.Grains, fixture.Clock.GetUtcNow());

    [PostgresFact]
    public async Task GroupingSilencesAndAcknowledgementWorkOnPostgres()
    {
        var project = AuditClusterFixture.NewProjectId();
        await fixture.Grains.GetGrain<INotificationContactsGrain>(project).AddAsync("soc@example.com", NotificationType.Security);
        await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).SetActiveAsync(
            new Dictionary<AlertName, bool> { [AlertName.ApiKeyCreated] = true, [AlertName.ApiKeyDeleted] = true });
        var silence = await fixture.Grains.GetGrain<IAlertSilenceGrain>(project).CreateAsync(
            new AlertSilenceRequest { Alerts = [AlertName.ApiKeyDeleted], Duration = TimeSpan.FromHours(1), Reason = "rotation" });
        var now = fixture.Clock.GetUtcNow();

        await Ingest.IngestAsync(project, [.. Enumerable.Range(0, 5).Select(i => EventFactory.ApiKey(project, now.AddSeconds(-i), "CreateAPIKey", 200)), EventFactory.ApiKey(project, now, "DeleteAPIKey", 200)]);
        var history = await Log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project });
        Assert.Equal(6, history.Count);
        Assert.Equal(silence.Id, Assert.Single(history, static f => f.Alert == AlertName.ApiKeyDeleted).SilenceId);
        var created = history.Where(static f => f.Alert == AlertName.ApiKeyCreated).ToList();
        Assert.Single(created, static f => f.Deliveries.Single().DigestId is null);
        var digest = Assert.Single(created.Select(static f => f.Deliveries.Single().DigestId).OfType<string>().Distinct());
        Assert.Equal(4, created.Count(f => f.Deliveries.Single().DigestId == digest));

        var firing = created[0];
        var acknowledgements = fixture.Grains.GetGrain<IAlertAcknowledgementGrain>(project);
        await acknowledgements.TakeAsync(firing.Id, "on it");
        var closed = await acknowledgements.CloseAsync(firing.Id, "done");
        Assert.Equal(FiringStatus.Closed, closed!.Status);

        // The digest goes out when it is due; the silence shows what it held.
        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        await fixture.Grains.GetGrain<INotificationGrain>(0).WakeAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await Log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project, Alert = AlertName.ApiKeyCreated })).Any(static f => f.Deliveries.Single().State != DeliveryState.Delivered))
        {
            Assert.True(DateTime.UtcNow < deadline, "the digest was not delivered within 30 s");
            await Task.Delay(50);
        }

        Assert.Equal(1, Assert.Single(await fixture.Grains.GetGrain<IAlertSilenceGrain>(project).ListAsync(false)).HeldFirings);
    }

    [PostgresFact]
    public async Task ASilenceOfOneRuleIsStoredAndMatchedOnPostgres()
    {
        var project = AuditClusterFixture.NewProjectId();
        var config = fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par"));
        foreach (var (name, method) in new[] { ("pg-creates", "CreateAPIKey"), ("pg-deletes", "DeleteAPIKey") })
        {
            await config.CreateRuleAsync(new AlertRuleDraft
            {
                Name = name, Query = $"event.method_name == '{method}'", EvaluationWindow = TimeSpan.FromMinutes(5), Occurrences = 1, Severity = RuleSeverity.Error,
            });
        }

        var silence = await fixture.Grains.GetGrain<IAlertSilenceGrain>(project).CreateAsync(
            new AlertSilenceRequest { Alerts = [], Rules = ["PG-Creates"], Duration = TimeSpan.FromHours(1), Reason = "rotation" });
        var now = fixture.Clock.GetUtcNow();
        await Ingest.IngestAsync(project, [EventFactory.ApiKey(project, now, "CreateAPIKey", 200), EventFactory.ApiKey(project, now, "DeleteAPIKey", 200)]);

        var firings = (await Log.GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project })).Where(static f => f.Kind == AlertKind.Firing).ToList();
        Assert.Equal(silence.Id, Assert.Single(firings, static f => f.Facts.Rule?.Name == "pg-creates").SilenceId);
        Assert.Null(Assert.Single(firings, static f => f.Facts.Rule?.Name == "pg-deletes").SilenceId);
        Assert.Equal(["PG-Creates"], Assert.Single(await fixture.Grains.GetGrain<IAlertSilenceGrain>(project).ListAsync(false)).Rules);
    }
}
