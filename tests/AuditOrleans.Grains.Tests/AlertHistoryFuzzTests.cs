using System.Globalization;
using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// The alert history checked against a model of the rules written from docs/alerts.md (The five
/// alerts, Forbidden rate, Episodes), not from the detector's code: a seeded random life of one
/// project-region (attacks that grow, change attacker and stop, calm traffic, quiet hours, API
/// keys created and deleted with and without the right, alerts switched on and off, a silo
/// restart) goes through the real ingest grain on the cluster's fake clock, and every entry of
/// the history must be one the model predicts, with its kind, episode, time frame and count, and
/// none may be missing. Set AUDITORLEANS_FUZZ_SEED to replay a failure: every message carries the seed.
/// </summary>
[Collection(EpisodeCollection.Name)]
public sealed class AlertHistoryFuzzTests(AuditClusterFixture fixture)
{
    private const string Security = "soc@example.com";
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan RepeatInterval = TimeSpan.FromMinutes(10);
    private static readonly string[] Principals = ["user-1", "user-2", "intruder-3", "intruder-4", "robot-5"];
    private static readonly string[] Ips = ["198.51.100.7", "198.51.100.8", "203.0.113.66", "2001:db8::9", "192.0.2.44"];

    [Fact]
    public async Task TheHistoryOfARandomLifeIsExactlyWhatTheRulesSay()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("AUDITORLEANS_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s)
            ? s
            : Random.Shared.Next();
        var rng = new Random(seed);
        var context = $"seed {seed} (AUDITORLEANS_FUZZ_SEED={seed} to replay)";

        fixture.Clock.Advance(TimeSpan.FromHours(1));
        var p = AuditClusterFixture.NewProjectId("hf");
        await fixture.Grains.GetGrain<INotificationContactsGrain>(p).AddAsync(Security, NotificationType.Security);
        var model = new RulesModel();
        await SetActiveAsync(p, model, AlertCatalog.All.ToDictionary(static a => a.Name, static _ => true));

        // Phase 0 is always a long attack whose attacker changes half-way, so that every seed sees
        // a firing, an update and a resolved notice; the rest is random.
        var restartAt = rng.Next(3, 11);
        for (var phase = 0; phase < 12; phase++)
        {
            if (phase == restartAt)
            {
                await fixture.RestartAsync(() =>
                {
                    fixture.Clock.Advance(TimeSpan.FromSeconds(rng.Next(5, 40)));
                    return Task.CompletedTask;
                });
                await CheckAsync(p, model);
            }

            var kind = phase == 0 ? 0 : rng.Next(4);
            var minutes = kind switch { 0 => phase == 0 ? 16 : rng.Next(2, 17), 1 => rng.Next(1, 8), 2 => 0, _ => rng.Next(1, 4) };
            if (kind == 2)
            {
                // Quiet: nothing comes for 5 to 12 minutes.
                await AdvanceAsync(p, model, TimeSpan.FromSeconds(rng.Next(300, 720)));
                continue;
            }

            for (var step = 0; step < minutes * 2; step++)
            {
                if (phase > 0 && rng.Next(12) == 0)
                {
                    // Switch one alert; the 403 alert more rarely, and mostly back on.
                    var alert = rng.Next(3) == 0 ? AlertName.HttpForbiddenErrorRateHigh : AlertCatalog.All[rng.Next(AlertCatalog.All.Count)].Name;
                    var on = alert == AlertName.HttpForbiddenErrorRateHigh ? !model.IsActive(alert) || rng.Next(3) == 0 : rng.Next(2) == 0;
                    await SetActiveAsync(p, model, new Dictionary<AlertName, bool> { [alert] = on });
                }

                var elapsed = TimeSpan.FromMilliseconds(rng.Next(20_000, 40_000));
                await AdvanceAsync(p, model, elapsed);
                var batch = kind switch
                {
                    // An attack: 3 to 15 403s in these 30 seconds, from one or two attackers that change with the phase's half.
                    0 => Batch(rng, p, model, elapsed, rng.Next(3, 16), forbiddenShare: 0.9, attackers: step < minutes ? 1 : 2 + rng.Next(3)),
                    // Calm traffic with a few 403s and API-key calls.
                    1 => Batch(rng, p, model, elapsed, rng.Next(0, 8), forbiddenShare: 0.3, attackers: Principals.Length),
                    // API-key activity.
                    _ => Batch(rng, p, model, elapsed, rng.Next(1, 6), forbiddenShare: 0.1, attackers: Principals.Length, apiKeyShare: 0.7),
                };
                await SendAsync(p, model, batch, context);
            }
        }

        // The end: quiet long enough for any open episode to be resolved on the clock.
        await AdvanceAsync(p, model, TimeSpan.FromMinutes(6));

        var history = (await fixture.Grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(
            new AlertHistoryQuery { ProjectId = p, Limit = QueryLimits.MaxAlertHistory })).ToList();
        Compare(model, history, context);
        Assert.True(model.Expected.Count(static e => e.Alert == AlertName.HttpForbiddenErrorRateHigh && e.Kind == AlertKind.Update) >= 1
            && model.Expected.Count(static e => e.Kind == AlertKind.Resolved) >= 1
            && model.Expected.Count(static e => e.Alert != AlertName.HttpForbiddenErrorRateHigh) >= 3,
            $"{context}: the life was too tame to test anything: {Summary(model.Expected)}");
    }

    private static void Compare(RulesModel model, List<FiredAlert> history, string context)
    {
        var byEpisodeOpening = new Dictionary<int, string>();
        var actual = history;
        var failures = new List<string>();

        // Single-event alerts: one entry per matching event stored while its alert was on.
        var singles = actual.Where(static f => f.Alert != AlertName.HttpForbiddenErrorRateHigh).ToDictionary(static f => f.Facts.EventId!, StringComparer.Ordinal);
        foreach (var want in model.Expected.Where(static e => e.Alert != AlertName.HttpForbiddenErrorRateHigh))
        {
            if (!singles.Remove(want.EventId!, out var got))
            {
                failures.Add($"missing {want}");
                continue;
            }

            if (got.Alert != want.Alert || got.Kind != AlertKind.Firing || got.TriggeredAt != want.TriggeredAt || got.EventTime != want.EventTime || got.IsBackfill || got.IsLate)
            {
                failures.Add($"expected {want}, got {Describe(got)}");
            }
        }

        failures.AddRange(singles.Values.Select(static f => $"unexpected {Describe(f)}"));

        // The 403 alert: the same notices in the same order, each with its time frame, count and episode.
        // Notices recorded at the same instant (an update on the clock, then a 403 that resolves the
        // episode in the batch that follows) are ordered by episode, then by kind.
        var forbidden = actual.Where(static f => f.Alert == AlertName.HttpForbiddenErrorRateHigh)
            .OrderBy(static f => f.TriggeredAt).ThenBy(static f => f.WindowStart).ThenBy(static f => f.Kind).ToList();
        var expected = model.Expected.Where(static e => e.Alert == AlertName.HttpForbiddenErrorRateHigh)
            .OrderBy(static e => e.TriggeredAt).ThenBy(static e => e.WindowStart).ThenBy(static e => e.Kind).ToList();
        for (var i = 0; i < Math.Max(forbidden.Count, expected.Count); i++)
        {
            if (i >= forbidden.Count || i >= expected.Count)
            {
                failures.Add(i < expected.Count ? $"missing 403 notice {i}: {expected[i]}" : $"unexpected 403 notice {i}: {Describe(forbidden[i])}");
                continue;
            }

            var (want, got) = (expected[i], forbidden[i]);
            var episodeOk = want.Kind == AlertKind.Firing
                ? got.EpisodeId == got.Id && byEpisodeOpening.TryAdd(want.Episode, got.Id)
                : byEpisodeOpening.TryGetValue(want.Episode, out var opening) && got.EpisodeId == opening;
            if (got.Kind != want.Kind || got.TriggeredAt != want.TriggeredAt || got.WindowStart != want.WindowStart || got.WindowEnd != want.WindowEnd
                || got.Facts.ForbiddenCount != want.Count || !episodeOk || got.IsBackfill || got.IsLate)
            {
                failures.Add($"403 notice {i}: expected {want}, got {Describe(got)}");
            }
        }

        // Every notice went to the Security contact (alone, or carried by a digest).
        failures.AddRange(actual.Where(static f => f.Deliveries.Count != 1 || f.Deliveries[0].Recipient != Security)
            .Select(static f => $"{Describe(f)} has {f.Deliveries.Count} deliveries"));

        Assert.True(failures.Count == 0,
            $"{context}: the history disagrees with the rules in {failures.Count} place(s):{Environment.NewLine}{string.Join(Environment.NewLine, failures.Take(15))}"
            + $"{Environment.NewLine}expected {Summary(model.Expected)}; got {history.Count} entries");
    }

    private static string Summary(IEnumerable<ExpectedNotice> expected) =>
        string.Join(", ", expected.GroupBy(static e => (e.Alert, e.Kind)).Select(static g => $"{g.Count()} {g.Key.Alert}/{g.Key.Kind}"));

    private static string Describe(FiredAlert f) =>
        $"{f.Alert}/{f.Kind} at {f.TriggeredAt:O} event {f.EventTime:O} frame [{f.WindowStart:O}, {f.WindowEnd:O}] count {f.Facts.ForbiddenCount} event id {f.Facts.EventId} episode {f.EpisodeId}";

    /// <summary>Events recorded evenly over the <paramref name="elapsed"/> that just passed, newer than any sent before.</summary>
    private List<AuditEvent> Batch(Random rng, string p, RulesModel model, TimeSpan elapsed, int count, double forbiddenShare, int attackers, double apiKeyShare = 0.1)
    {
        var now = fixture.Clock.GetUtcNow();
        var events = new List<AuditEvent>(count);
        for (var i = 0; i < count; i++)
        {
            var at = now - elapsed + (elapsed * (i + 1) / (count + 1));
            at = new DateTimeOffset(at.Ticks - (at.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
            if (at <= model.NewestRecorded)
            {
                continue;
            }

            model.NewestRecorded = at;
            var principal = Principals[rng.Next(Math.Min(attackers, Principals.Length))];
            var ip = Ips[rng.Next(Math.Min(attackers, Ips.Length))];
            var roll = rng.NextDouble();
            events.Add(roll < apiKeyShare
                ? EventFactory.ApiKey(p, at,
                    rng.Next(2) == 0 ? "CreateAPIKey" : "DeleteAPIKey",
                    new[] { 200, 204, 401, 403, 500, 404 }[rng.Next(6)],
                    product: rng.Next(5) == 0 ? "instance" : "iam",
                    principal: principal, ip: ip, keyId: $"SCW{rng.Next(100_000):D17}")
                : roll < apiKeyShare + forbiddenShare
                    ? EventFactory.Forbidden(p, at, principal: principal, ip: ip)
                    : EventFactory.Ok(p, at, $"srv-{i}"));
        }

        return events;
    }

    private async Task SendAsync(string p, RulesModel model, List<AuditEvent> batch, string context)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var result = await fixture.Grains.GetGrain<IIngestGrain>(0).IngestAsync(p, batch);
        Assert.True(result.Accepted == batch.Count, $"{context}: {result.Accepted} of {batch.Count} accepted: {string.Join("; ", result.Errors.Select(static e => e.Message))}");
        model.Stored(batch, fixture.Clock.GetUtcNow());
    }

    private async Task AdvanceAsync(string p, RulesModel model, TimeSpan by)
    {
        fixture.Clock.Advance(by);
        await CheckAsync(p, model);
    }

    /// <summary>Looks at the open episode now (the detector's timer may have looked first at this same time: the outcome is the same).</summary>
    private async Task CheckAsync(string p, RulesModel model)
    {
        await fixture.Grains.GetGrain<IDetectorGrain>(Scope.Key(p, "fr-par")).CheckEpisodeAsync();
        model.Check(fixture.Clock.GetUtcNow());
    }

    private async Task SetActiveAsync(string p, RulesModel model, Dictionary<AlertName, bool> changes)
    {
        await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(p, "fr-par")).SetActiveAsync(changes);
        foreach (var (alert, on) in changes)
        {
            model.Active[alert] = on;
        }
    }

    private sealed record ExpectedNotice(AlertName Alert, AlertKind Kind, DateTimeOffset TriggeredAt, DateTimeOffset EventTime, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, long? Count, int Episode, string? EventId)
    {
        public override string ToString() =>
            $"{Alert}/{Kind} at {TriggeredAt:O} event {EventTime:O} frame [{WindowStart:O}, {WindowEnd:O}] count {Count} event id {EventId} (model episode {Episode})";
    }

    /// <summary>The rules of docs/alerts.md over one project-region's stored events, in the order they were stored.</summary>
    private sealed class RulesModel
    {
        private readonly List<(DateTimeOffset At, string Principal, string Ip)> forbidden = [];
        private DateTimeOffset? lastForbiddenStoredAt;
        private Episode? open;
        private int episodes;

        public Dictionary<AlertName, bool> Active { get; } = [];

        public List<ExpectedNotice> Expected { get; } = [];

        public DateTimeOffset NewestRecorded { get; set; }

        public bool IsActive(AlertName alert) => Active.GetValueOrDefault(alert);

        public void Stored(List<AuditEvent> batch, DateTimeOffset now)
        {
            foreach (var e in batch)
            {
                var at = e.RecordedAt!.Value;
                if (e.StatusCode == 403)
                {
                    var previousNewest = forbidden.Count > 0 ? forbidden[^1].At : (DateTimeOffset?)null;
                    forbidden.Add((at, e.PrincipalId!, e.SourceIp!));
                    lastForbiddenStoredAt = now;
                    var inWindow = CountIn(at - Window, at);
                    if (open is not null && inWindow <= 20)
                    {
                        Resolve(now, previousNewest!.Value);
                    }
                    else if (open is not null)
                    {
                        open.Since.Add(forbidden.Count - 1);
                    }

                    if (open is null && inWindow > 20 && IsActive(AlertName.HttpForbiddenErrorRateHigh))
                    {
                        episodes++;
                        var scope = Enumerable.Range(0, forbidden.Count).Where(i => forbidden[i].At >= at - Window).ToList();
                        open = new Episode(episodes, at - Window, now, inWindow, scope.Select(i => forbidden[i].Principal).ToHashSet(), scope.Select(i => forbidden[i].Ip).ToHashSet());
                        Expected.Add(new(AlertName.HttpForbiddenErrorRateHigh, AlertKind.Firing, now, at, at - Window, at, inWindow, episodes, null));
                    }
                }

                var single = (e.MethodName, e.StatusCode, e.ProductName) switch
                {
                    ("CreateAPIKey", 401 or 403, _) => AlertName.ApiKeyCreationUnauthorized,
                    ("DeleteAPIKey", 401 or 403, _) => AlertName.ApiKeyDeletionUnauthorized,
                    ("CreateAPIKey", >= 200 and <= 299, "iam") => AlertName.ApiKeyCreated,
                    ("DeleteAPIKey", >= 200 and <= 299, "iam") => AlertName.ApiKeyDeleted,
                    _ => (AlertName?)null,
                };
                if (single is { } alert && IsActive(alert))
                {
                    Expected.Add(new(alert, AlertKind.Firing, now, at, at - Window, at + Window, null, 0, e.Id));
                }
            }

            if (batch.Count > 0)
            {
                UpdateIfDue(now);
            }
        }

        /// <summary>The silo's clock looks at the open episode: resolved when quiet, else an update if one is due.</summary>
        public void Check(DateTimeOffset now)
        {
            if (open is null)
            {
                return;
            }

            var quiet = (lastForbiddenStoredAt is not { } last || now - last >= Window) && CountIn(now - Window, now) <= 20;
            if (quiet)
            {
                Resolve(now, forbidden[^1].At);
            }
            else
            {
                UpdateIfDue(now);
            }
        }

        private void UpdateIfDue(DateTimeOffset now)
        {
            if (open is not { } episode || !IsActive(AlertName.HttpForbiddenErrorRateHigh) || now - episode.NoticeAt < RepeatInterval)
            {
                return;
            }

            var since = episode.Since.Select(i => forbidden[i]).ToList();
            var doubled = since.Count >= episode.NoticeCount;
            var newcomer = since.Any(f => !episode.NoticePrincipals.Contains(f.Principal) || !episode.NoticeIps.Contains(f.Ip));
            if (!doubled && !newcomer)
            {
                return;
            }

            var end = forbidden[^1].At;
            var frame = Enumerable.Range(0, forbidden.Count).Where(i => forbidden[i].At >= episode.Start && forbidden[i].At <= end).ToList();
            Expected.Add(new(AlertName.HttpForbiddenErrorRateHigh, AlertKind.Update, now, end, episode.Start, end, frame.Count, episode.Number, null));
            open = episode with
            {
                NoticeAt = now,
                NoticeCount = frame.Count,
                NoticePrincipals = frame.Select(i => forbidden[i].Principal).ToHashSet(),
                NoticeIps = frame.Select(i => forbidden[i].Ip).ToHashSet(),
                Since = [],
            };
        }

        private void Resolve(DateTimeOffset now, DateTimeOffset last)
        {
            var episode = open!;
            var end = last < episode.Start ? episode.Start : last;
            Expected.Add(new(AlertName.HttpForbiddenErrorRateHigh, AlertKind.Resolved, now, end, episode.Start, end, CountIn(episode.Start, end), episode.Number, null));
            open = null;
        }

        private int CountIn(DateTimeOffset from, DateTimeOffset to) => forbidden.Count(f => f.At >= from && f.At <= to);

        private sealed record Episode(int Number, DateTimeOffset Start, DateTimeOffset NoticeAt, long NoticeCount, HashSet<string> NoticePrincipals, HashSet<string> NoticeIps)
        {
            public List<int> Since { get; init; } = [];
        }
    }
}
