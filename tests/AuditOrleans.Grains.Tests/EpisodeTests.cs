using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>A cluster of its own: these tests move its clock by many minutes and restart it.</summary>
[CollectionDefinition(Name)]
public sealed class EpisodeCollection : ICollectionFixture<AuditClusterFixture>
{
    public const string Name = "episodes";
}

/// <summary>
/// HttpForbiddenErrorRateHigh episodes (docs/alerts.md, Episodes): opened, updated, resolved,
/// the same after a restart. Time is the fixture's fake clock; every step is a call, nothing waits.
/// The detector's timer and EpisodeWatch run on that clock too and may take a step first when it
/// moves; the explicit CheckEpisodeAsync calls queue behind them, so the outcome is the same.
/// </summary>
[Collection(EpisodeCollection.Name)]
public sealed class EpisodeTests(AuditClusterFixture fixture)
{
    private const string Security = "soc@example.com";

    [Fact]
    public async Task ANewAttackerMidEpisodeIsReportedAsAnUpdateOncePerRepeatInterval()
    {
        var p = await StartAsync();
        var t0 = fixture.Clock.GetUtcNow();

        // Minute 0: user-1 opens the episode; it goes on at 10 403s a minute.
        await SendAsync(p, t0, 25, "user-1", "198.51.100.7");
        for (var minute = 1; minute <= 3; minute++)
        {
            await MinuteAsync(p, 10, "user-1", "198.51.100.7");
        }

        // 3.5 minutes in, a second attacker: another principal and IP.
        fixture.Clock.Advance(TimeSpan.FromSeconds(30));
        await SendAsync(p, fixture.Clock.GetUtcNow(), 20, "intruder-9", "203.0.113.66");
        var opening = Assert.Single(await HistoryAsync(p));
        Assert.Equal(AlertKind.Firing, opening.Kind);

        // The update waits for the repeat interval (10 minutes after the firing), then goes out once.
        for (var minute = 4; minute <= 16; minute++)
        {
            await MinuteAsync(p, 15, "intruder-9", "203.0.113.66");
        }

        var history = await HistoryAsync(p);
        var update = Assert.Single(history, static f => f.Kind == AlertKind.Update);
        Assert.Single(history, static f => f.Kind == AlertKind.Firing);
        Assert.DoesNotContain(history, static f => f.Kind == AlertKind.Resolved);
        Assert.Equal(opening.Id, update.EpisodeId);
        Assert.Equal(opening.Id, opening.EpisodeId);
        Assert.True(update.TriggeredAt - opening.TriggeredAt >= TimeSpan.FromMinutes(10));
        Assert.Contains("intruder-9", update.Facts.Change);
        Assert.Contains("203.0.113.66", update.Facts.Change);
        Assert.Contains(update.Facts.TopPrincipals, static v => v.Value == "intruder-9");
        Assert.Equal(t0, update.Facts.FirstEventTime);
        Assert.Equal(Security, Assert.Single(update.Deliveries).Recipient);
    }

    [Fact]
    public async Task AnEpisodeIsResolvedOnTheClockWhenThe403sStopWithItsWholeStory()
    {
        var p = await StartAsync();
        var t0 = fixture.Clock.GetUtcNow().AddMinutes(-2);
        await SendAsync(p, t0, 25, "user-1", "198.51.100.7");
        await SendAsync(p, t0.AddSeconds(30), 5, "user-2", "198.51.100.8");
        var detector = fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(p, "fr-par"));

        // Four quiet minutes: still open.
        fixture.Clock.Advance(TimeSpan.FromMinutes(4));
        await detector.CheckEpisodeAsync();
        Assert.Single(await HistoryAsync(p));

        // Five: over.
        fixture.Clock.Advance(TimeSpan.FromMinutes(1));
        await detector.CheckEpisodeAsync();
        var history = await HistoryAsync(p);
        var resolved = Assert.Single(history, static f => f.Kind == AlertKind.Resolved);
        var opening = Assert.Single(history, static f => f.Kind == AlertKind.Firing);
        Assert.Equal(opening.Id, resolved.EpisodeId);
        Assert.Equal(30, resolved.Facts.ForbiddenCount);
        Assert.Equal(t0, resolved.Facts.FirstEventTime);
        Assert.Equal(t0.AddSeconds(30).AddSeconds(4), resolved.WindowEnd);
        Assert.Equal([new CountedValue("user-1", 25), new CountedValue("user-2", 5)], resolved.Facts.TopPrincipals);
        Assert.Equal(Security, Assert.Single(resolved.Deliveries).Recipient);
        Assert.Null((await detector.GetStatusAsync()).OpenEpisodeId);

        // Looking again changes nothing.
        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        await detector.CheckEpisodeAsync();
        Assert.Equal(2, (await HistoryAsync(p)).Count);
    }

    [Fact]
    public async Task ATwentyMinuteAttackWithASiloRestartInItsMiddleAlertsOnce()
    {
        var p = await StartAsync();
        for (var minute = 0; minute < 10; minute++)
        {
            await MinuteAsync(p, 10, "user-1", "198.51.100.7");
        }

        var opening = Assert.Single(await HistoryAsync(p), static f => f.Kind == AlertKind.Firing);
        await fixture.RestartAsync(() =>
        {
            fixture.Clock.Advance(TimeSpan.FromSeconds(20));
            return Task.CompletedTask;
        });
        var status = await fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(p, "fr-par")).GetStatusAsync();
        Assert.Equal(opening.Id, status.OpenEpisodeId);

        for (var minute = 10; minute < 20; minute++)
        {
            await MinuteAsync(p, 10, "user-1", "198.51.100.7");
        }

        fixture.Clock.Advance(TimeSpan.FromMinutes(6));
        await fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(p, "fr-par")).CheckEpisodeAsync();

        var history = await HistoryAsync(p);
        Assert.Equal(opening.Id, Assert.Single(history, static f => f.Kind == AlertKind.Firing).Id);
        Assert.All(history, f => Assert.Equal(opening.Id, f.EpisodeId));
        var resolved = Assert.Single(history, static f => f.Kind == AlertKind.Resolved);
        Assert.Equal(200, resolved.Facts.ForbiddenCount);

        // The count doubled after the firing (10 minutes in, once the repeat interval had passed): one update, no more
        // (at minute 20 it had not doubled again since).
        var update = Assert.Single(history, static f => f.Kind == AlertKind.Update);
        Assert.Contains("doubled", update.Facts.Change);
    }

    [Fact]
    public async Task ANewAttackAfterAResolvedOneAlertsAgainButAStragglerOfTheOldOneDoesNot()
    {
        var p = await StartAsync();
        var t0 = fixture.Clock.GetUtcNow();
        await SendAsync(p, t0, 21, "user-1", "198.51.100.7");
        fixture.Clock.Advance(TimeSpan.FromMinutes(6));
        await fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(p, "fr-par")).CheckEpisodeAsync();
        var first = Assert.Single(await HistoryAsync(p), static f => f.Kind == AlertKind.Firing);
        Assert.Single(await HistoryAsync(p), static f => f.Kind == AlertKind.Resolved);

        // A late 403 of the first attack: the window ending at the newest 403 still holds more
        // than 20, but the attack was reported over, and this one changes nothing about it.
        await SendAsync(p, t0.AddSeconds(10), 1, "user-1", "198.51.100.7");
        Assert.Equal(2, (await HistoryAsync(p)).Count);

        // A new attack: a new episode, a new firing.
        await SendAsync(p, fixture.Clock.GetUtcNow(), 21, "user-3", "198.51.100.9");
        var history = await HistoryAsync(p);
        Assert.Equal(3, history.Count);
        var second = Assert.Single(history, f => f.Kind == AlertKind.Firing && f.Id != first.Id);
        Assert.Equal(second.Id, second.EpisodeId);
        Assert.Equal("user-3", Assert.Single(second.Facts.TopPrincipals).Value);
    }

    [Fact]
    public async Task AnEpisodeEndsAtA403ThatFindsTwentyOrFewerAndTheNextBurstOpensAnother()
    {
        var p = await StartAsync();
        var t0 = fixture.Clock.GetUtcNow();
        await SendAsync(p, t0, 21, "user-1", "198.51.100.7");

        // Ten minutes later, in one batch: the first 403 ends the episode, the 21st opens a new one.
        fixture.Clock.Advance(TimeSpan.FromMinutes(10));
        await SendAsync(p, fixture.Clock.GetUtcNow(), 21, "user-2", "198.51.100.8");

        var history = await HistoryAsync(p);
        Assert.Equal(3, history.Count);
        var resolved = Assert.Single(history, static f => f.Kind == AlertKind.Resolved);
        var firings = history.Where(static f => f.Kind == AlertKind.Firing).ToList();
        Assert.Equal(2, firings.Count);
        var first = Assert.Single(firings, f => f.EventTime < fixture.Clock.GetUtcNow());
        Assert.Equal(first.Id, resolved.EpisodeId);
        Assert.Equal(21, resolved.Facts.ForbiddenCount);
        Assert.Equal(t0.AddSeconds(20), resolved.WindowEnd);
    }

    /// <summary>A project with the alert on and a Security contact; the clock moved past earlier tests' episodes.</summary>
    private async Task<string> StartAsync()
    {
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        var p = AuditClusterFixture.NewProjectId("ep");
        await fixture.Grains.GetGrain<INotificationContactsGrain>(p).AddAsync(Security, NotificationType.Security);
        await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(p, "fr-par"))
            .SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });
        return p;
    }

    /// <summary>One minute of the attack: the clock moves a minute, then <paramref name="count"/> 403s recorded in it arrive.</summary>
    private async Task MinuteAsync(string p, int count, string principal, string ip)
    {
        fixture.Clock.Advance(TimeSpan.FromMinutes(1));
        await SendAsync(p, fixture.Clock.GetUtcNow().AddSeconds(-count), count, principal, ip);
    }

    /// <summary><paramref name="count"/> 403s one second apart from <paramref name="from"/>.</summary>
    private async Task SendAsync(string p, DateTimeOffset from, int count, string principal, string ip)
    {
        var result = await fixture.Grains.GetGrain<IIngestGrain>(0).IngestAsync(p,
            [.. Enumerable.Range(0, count).Select(i => EventFactory.Forbidden(p, from.AddSeconds(i), principal: principal, ip: ip))]);
        Assert.Equal(count, result.Accepted);
    }

    private async Task<IReadOnlyList<FiredAlert>> HistoryAsync(string p) =>
        await fixture.Grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = p });
}
