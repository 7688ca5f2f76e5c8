using System.Diagnostics;
using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// Custom alert rules (docs/rules.md) end to end in the test cluster: counting windows on the
/// events' own times, authentication events in the provider's combined envelope, refused queries,
/// the replay agreeing with the live rule, dry runs, the audit of changes, restarts and hostile queries.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AlertRuleTests(AuditClusterFixture fixture)
{
    private const string FailedSignIn = "event.kind == 'authentication' && event.result == 'failure'";

    private IIngestGrain Ingest => fixture.Grains.GetGrain<IIngestGrain>(0);

    private IAlertConfigGrain Config(string project, string region = "fr-par") => fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, region));

    private async Task<List<FiredAlert>> FiringsAsync(string project) =>
        [.. (await fixture.Grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project }))
            .Where(static a => a.Alert == AlertName.CustomRule && a.Kind == AlertKind.Firing)];

    private static AlertRuleDraft Rule(string name, string query, int occurrences = 3, int minutes = 5, bool dryRun = false) => new()
    {
        Name = name,
        Query = query,
        EvaluationWindow = TimeSpan.FromMinutes(minutes),
        Occurrences = occurrences,
        Severity = RuleSeverity.Warning,
        DryRun = dryRun,
    };

    /// <summary>A failed console sign-in of an organization as the provider's combined listing wraps it.</summary>
    private static string SignInLine(string organization, DateTimeOffset at, string result = "failure", string ip = "203.0.113.9") =>
        $$$"""{"auth":{"id":"{{{Guid.NewGuid()}}}","recorded_at":"{{{AuditEventJson.FormatTime(at)}}}","organization_id":"{{{organization}}}","source_ip":"{{{ip}}}","user_agent":"Mozilla/5.0","result":"{{{result}}}",{{{(result == "failure" ? "\"failure_reason\":\"invalid_password\"," : "")}}}"method":"password","origin":"public_api","country_code":"fr","resources":[{"id":"{{{organization}}}","type":"account_user","name":"alice@example.com"}]}}""";

    private static AuditEvent SignIn(string organization, DateTimeOffset at, string result = "failure", string ip = "203.0.113.9") =>
        AuditEventJson.Parse(SignInLine(organization, at, result, ip));

    [Fact]
    public async Task ThreeInFiveMinutesFiresOnceOnTheThirdMatchAndNotOnTwo()
    {
        var project = AuditClusterFixture.NewProjectId();
        await Config(project).CreateRuleAsync(Rule("failed-sign-ins", FailedSignIn));
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-30);

        // Two matches, and a success and an API event that do not match.
        await Ingest.IngestAsync(project, [SignIn(project, t0), SignIn(project, t0.AddMinutes(1), "success"), EventFactory.Forbidden(project, t0.AddMinutes(1)), SignIn(project, t0.AddMinutes(2))]);
        Assert.Empty(await FiringsAsync(project));

        // The third within 5 minutes of the first fires, once.
        var third = SignIn(project, t0.AddMinutes(4));
        await Ingest.IngestAsync(project, [third]);
        var fired = Assert.Single(await FiringsAsync(project));
        Assert.Equal("failed-sign-ins", fired.Facts.Rule!.Name);
        Assert.Equal(3, fired.Facts.MatchCount);
        Assert.Equal(third.Id, fired.Facts.EventId);
        Assert.Equal(AlertSeverity.Medium, fired.Severity);

        // The count starts again after a firing: two more do not fire.
        await Ingest.IngestAsync(project, [SignIn(project, t0.AddMinutes(4.5)), SignIn(project, t0.AddMinutes(5))]);
        Assert.Single(await FiringsAsync(project));
    }

    [Fact]
    public async Task MatchesFurtherApartThanTheWindowNeverFire()
    {
        var project = AuditClusterFixture.NewProjectId();
        await Config(project).CreateRuleAsync(Rule("spread", FailedSignIn));
        var t0 = fixture.Clock.GetUtcNow().AddHours(-2);

        await Ingest.IngestAsync(project, [.. Enumerable.Range(0, 6).Select(i => SignIn(project, t0.AddMinutes(i * 3.1)))]);

        Assert.Empty(await FiringsAsync(project));
    }

    [Fact]
    public async Task AuthenticationEventsInTheCombinedEnvelopeLandInFrParOfTheOrganizationAndVerify()
    {
        var organization = AuditClusterFixture.NewProjectId();
        await Config(organization).CreateRuleAsync(Rule("failed-sign-ins-per-ip", FailedSignIn + " && event.source_ip == '198.51.100.20' && event.country_code == 'FR'", occurrences: 2));
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-10);

        var result = await Ingest.IngestAsync("default", [SignIn(organization, t0, ip: "198.51.100.20"), SignIn(organization, t0.AddSeconds(5), ip: "192.0.2.1"), SignIn(organization, t0.AddSeconds(10), ip: "198.51.100.20")]);

        Assert.Equal(3, result.Accepted);
        Assert.Single(await FiringsAsync(organization));
        var page = await fixture.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery
        {
            ProjectId = organization, Kind = EventKind.Authentication, RecordedAfter = t0.AddMinutes(-1), RecordedBefore = t0.AddMinutes(1),
        });
        Assert.Equal(3, page.Records.Count);
        Assert.All(page.Records, r => Assert.Equal(("fr-par", EventKind.Authentication, "FR"), (r.Region, r.Event.Kind, r.Event.CountryCode)));
        var none = await fixture.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery
        {
            ProjectId = organization, Kind = EventKind.Api, RecordedAfter = t0.AddMinutes(-1), RecordedBefore = t0.AddMinutes(1),
        });
        Assert.Empty(none.Records);
        Assert.StartsWith("{\"auth\":{", AuditEventJson.SerializeRecord(page.Records[0]), StringComparison.Ordinal);
        Assert.True((await fixture.Grains.GetGrain<IAuditLogGrain>(0).VerifyAsync(organization, "fr-par")).IsValid);
    }

    [Fact]
    public async Task SystemEventsAreStoredWhereTheirLocalityCountsAndApiEventsKeepTheirBytes()
    {
        var project = AuditClusterFixture.NewProjectId();
        var system = AuditEventJson.Parse($$$"""{"system":{"id":"s-1","recorded_at":"{{{AuditEventJson.FormatTime(fixture.Clock.GetUtcNow())}}}","locality":"nl-ams","project_id":"{{{project}}}","kind":"cron","source":"scheduler","system_name":"backup","product_name":"instance"}}""");
        var plain = AuditEventJson.Parse($$$"""{"id":"s-2","recorded_at":"{{{AuditEventJson.FormatTime(fixture.Clock.GetUtcNow())}}}","locality":"nl-ams","project_id":"{{{project}}}","kind":"notification","source":"billing","system_name":"mailer","product_name":"billing"}""");
        var api = EventFactory.Forbidden(project, fixture.Clock.GetUtcNow(), region: "nl-ams");
        var bad = AuditEventJson.Parse($$$"""{"auth":{"id":"s-3","organization_id":"{{{project}}}","result":"failure","status_code":401}}""");

        var result = await Ingest.IngestAsync(project, [system, plain, api, bad]);

        Assert.Equal(3, result.Accepted);
        Assert.Equal("status_code", Assert.Single(result.Errors).Field);
        Assert.Equal(EventKind.System, plain.Kind);
        var stored = await fixture.Grains.GetGrain<IAuditLogGrain>(0).FindEventAsync(project, "s-1");
        Assert.Equal(("nl-ams", EventKind.System, "cron"), (stored!.Record.Region, stored.Record.Event.Kind, stored.Record.Event.SystemKind));
        Assert.DoesNotContain("kind", AuditEventJson.Serialize(api with { Region = "nl-ams" }), StringComparison.Ordinal);
        Assert.True((await fixture.Grains.GetGrain<IAuditLogGrain>(0).VerifyAsync(project, "nl-ams")).IsValid);
    }

    [Theory]
    [InlineData("event.result == 'failure' &&& event.kind == 'api'", 1, 29)]
    [InlineData("event.kind == 'authentication' && event.nosuch == 'x'", 1, 41)]
    [InlineData("event.kind == 'api' &&\n  event.method_name ==", 2, 23)]
    [InlineData("event.method_name.lowerAscii() == 'x'", 1, 19)]
    [InlineData("event.status_code > 'a'", 1, 1)]
    [InlineData("event.status_code + 1", 1, 1)]
    public async Task ARefusedQueryNamesItsPositionAndReason(string query, int line, int column)
    {
        var project = AuditClusterFixture.NewProjectId();

        var refused = await Assert.ThrowsAsync<RuleQueryException>(() => Config(project).CreateRuleAsync(Rule("bad", query)));

        Assert.Equal((line, column), (refused.Line, refused.Column));
        Assert.Contains($"line {line}, column {column}", refused.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(refused.Reason));
        Assert.Empty((await Config(project).GetAsync()).Rules);
    }

    [Fact]
    public async Task TheReplayOfAFileAgreesWithTheLiveRule()
    {
        var project = AuditClusterFixture.NewProjectId();
        const string query = "event.kind == 'authentication' && event.result == 'failure' || event.status_code == 403";
        await Config(project).CreateRuleAsync(Rule("mixed", query, occurrences: 2, minutes: 2));
        var t0 = fixture.Clock.GetUtcNow().AddHours(-1);
        var random = new Random(20);
        var events = Enumerable.Range(0, 60).Select(i => (i % 3) switch
        {
            0 => SignIn(project, t0.AddSeconds(i * 17), random.Next(3) == 0 ? "success" : "failure"),
            1 => EventFactory.Forbidden(project, t0.AddSeconds(i * 17 + random.Next(60))),
            _ => EventFactory.Ok(project, t0.AddSeconds(i * 17), "r-" + i),
        }).ToList();

        var replay = await Config(project).TestRuleOnEventsAsync(new RuleTestRequest
        {
            Query = query, EvaluationWindow = TimeSpan.FromMinutes(2), Occurrences = 2, Events = events,
        });
        foreach (var batch in events.Chunk(7))
        {
            await Ingest.IngestAsync(project, batch);
        }

        var live = (await FiringsAsync(project)).Select(static f => f.Facts.EventId).Order().ToList();
        Assert.NotEmpty(live);
        Assert.Equal(live, replay.Matches.Where(static m => m.Fires).Select(static m => m.EventId).Order().ToList());
        Assert.Equal(60, replay.Evaluated);

        var stored = await Config(project).TestRuleOnStoredAsync(new RuleTestRequest
        {
            Query = query, EvaluationWindow = TimeSpan.FromMinutes(2), Occurrences = 2, Start = t0.AddMinutes(-1), End = t0.AddHours(1),
        });
        Assert.Equal(replay.Matches.Count(static m => m.Error is null), stored.Matches.Count(static m => m.Error is null));
    }

    [Fact]
    public async Task ADryRunRuleWritesTheHistoryAndSendsNothing()
    {
        var project = AuditClusterFixture.NewProjectId();
        await fixture.Grains.GetGrain<INotificationContactsGrain>(project).AddAsync("security@example.com", NotificationType.Security);
        await Config(project).CreateRuleAsync(Rule("watch-only", FailedSignIn, occurrences: 1, dryRun: true));
        await Config(project).CreateRuleAsync(Rule("trusted", FailedSignIn, occurrences: 1));

        await Ingest.IngestAsync(project, [SignIn(project, fixture.Clock.GetUtcNow().AddMinutes(-1))]);

        var firings = await FiringsAsync(project);
        var dry = Assert.Single(firings, static f => f.Facts.Rule!.Name == "watch-only");
        Assert.True(dry.Facts.Rule!.DryRun);
        Assert.Empty(dry.Deliveries);
        var trusted = Assert.Single(firings, static f => f.Facts.Rule!.Name == "trusted");
        Assert.Equal("security@example.com", Assert.Single(trusted.Deliveries).Recipient);
    }

    [Fact]
    public async Task RuleChangesAreAuditedAndTheQueryCannotChange()
    {
        var project = AuditClusterFixture.NewProjectId();
        var config = Config(project);
        var created = await config.CreateRuleAsync(Rule("r1", FailedSignIn));
        await config.UpdateRuleAsync("r1", "r2", "failed sign-ins");
        await config.SetRulesEnabledAsync(new Dictionary<string, bool> { ["R2"] = false });
        await Assert.ThrowsAsync<ArgumentException>(() => config.CreateRuleAsync(Rule("r2", "event.kind == 'api'")));
        await Assert.ThrowsAsync<ArgumentException>(() => config.CreateRuleAsync(Rule("ApiKeyCreated", "event.kind == 'api'")));
        Assert.True(await config.RemoveRuleAsync("r2"));
        Assert.False(await config.RemoveRuleAsync("r2"));

        var changes = (await fixture.Grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project }))
            .Where(static a => a.Kind == AlertKind.RuleChanged).ToList();
        Assert.Equal(4, changes.Count);
        Assert.All(changes, c => Assert.Equal(created.Id, c.Facts.Rule!.Id));
        Assert.All(changes, c => Assert.Equal(FailedSignIn, c.Facts.Rule!.Query));
        Assert.All(changes, c => Assert.Empty(c.Deliveries));
        Assert.All(changes, c => Assert.False(string.IsNullOrEmpty(c.Facts.ChangedBy)));
        Assert.Contains(changes, static c => c.Facts.Change!.StartsWith("Created rule r1", StringComparison.Ordinal));
        Assert.Contains(changes, static c => c.Facts.Change!.Contains("renamed r1 to r2", StringComparison.Ordinal) && c.Facts.Change.Contains("failed sign-ins", StringComparison.Ordinal));
        Assert.Contains(changes, static c => c.Facts.Change!.StartsWith("Disabled rule r2", StringComparison.Ordinal));
        Assert.Contains(changes, static c => c.Facts.Change!.StartsWith("Removed rule r2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HostileQueriesAreRefusedAndQueriesThatFailOnSomeEventsNeverStopIngestion()
    {
        var project = AuditClusterFixture.NewProjectId();
        var config = Config(project);
        var huge = string.Join(" || ", Enumerable.Range(0, 200).Select(static i => $"event.method_name == 'Method{i}'"));
        var deep = new string('(', 5000) + "true" + new string(')', 5000);
        var chain = "event" + string.Concat(Enumerable.Repeat(".principal", 40)) + " == 'x'";
        var tooLong = await Assert.ThrowsAsync<RuleQueryException>(() => config.CreateRuleAsync(Rule("huge", huge)));
        Assert.Contains("too long", tooLong.Reason, StringComparison.Ordinal);
        var nested = await Assert.ThrowsAsync<RuleQueryException>(() => config.CreateRuleAsync(Rule("deep", deep[..2000])));
        Assert.Equal((1, 33), (nested.Line, nested.Column));
        await Assert.ThrowsAsync<RuleQueryException>(() => config.CreateRuleAsync(Rule("deep", deep)));
        await Assert.ThrowsAsync<RuleQueryException>(() => config.CreateRuleAsync(Rule("chain", chain)));

        // Fails on every event whose user agent is not a number, and backtracks on a long agent.
        await config.CreateRuleAsync(Rule("numeric-agent", "int(event.user_agent) > 5", occurrences: 1));
        await config.CreateRuleAsync(Rule("redos", "event.user_agent.matches('^(a+)+$')", occurrences: 1));
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-5);
        var started = Stopwatch.GetTimestamp();
        var result = await Ingest.IngestAsync(project,
        [
            EventFactory.Forbidden(project, t0) with { UserAgent = new string('a', 40) + "!" },
            EventFactory.Forbidden(project, t0.AddSeconds(1)) with { UserAgent = "42" },
            SignIn(project, t0.AddSeconds(2)),
        ]);

        Assert.Equal(3, result.Accepted);
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(20), "a backtracking regex is cut short");
        var fired = Assert.Single(await FiringsAsync(project));
        Assert.Equal("numeric-agent", fired.Facts.Rule!.Name);
        var status = await fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(project, "fr-par")).GetStatusAsync();
        Assert.Equal(2, status.EnabledRules);
        Assert.True(status.RuleErrors >= 3, $"{status.RuleErrors} errors counted");
    }

    [Fact]
    public async Task RulesAndTheirWindowsSurviveARestart()
    {
        var project = AuditClusterFixture.NewProjectId();
        await Config(project).CreateRuleAsync(Rule("after-restart", FailedSignIn));
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-3);
        await Ingest.IngestAsync(project, [SignIn(project, t0), SignIn(project, t0.AddSeconds(30))]);

        await fixture.RestartAsync();

        Assert.Equal("after-restart", Assert.Single((await Config(project).GetAsync()).Rules).Name);
        Assert.Empty(await FiringsAsync(project));
        await Ingest.IngestAsync(project, [SignIn(project, t0.AddMinutes(1))]);
        Assert.Single(await FiringsAsync(project));

        // The firing is the rule's durable state: after another restart the window starts after it.
        await fixture.RestartAsync();
        await Ingest.IngestAsync(project, [SignIn(project, t0.AddMinutes(1.5)), SignIn(project, t0.AddMinutes(2))]);
        Assert.Single(await FiringsAsync(project));
    }
}
