using AuditOrleans.Grains.Detection;
using AuditOrleans.Grains.Storage;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// The window keeps its timestamps as 4-byte offsets from an origin that moves with the newest
/// 403 (about 71 minutes of range): these tests hold it to the plain rule over timestamps far
/// apart, late by days, before 1970, and across moves of the origin.
/// </summary>
public sealed class ForbiddenRateWindowPackingTests
{
    private const long Second = 1_000_000;
    private const long Minute = 60 * Second;
    private const long Hour = 60 * Minute;
    private const long Day = 24 * Hour;
    private static readonly long Window = ForbiddenRateWindow.WindowMicros;

    [Fact]
    public void ABurstDaysAfterAnotherFiresAgainAndKeepsExactTimes()
    {
        var w = new ForbiddenRateWindow();
        Assert.Equal(1, AddAll(w, Enumerable.Range(0, 21).Select(i => i * Second)));

        var later = (3 * Day) + 7;
        Assert.False(w.Add(later, active: true)); // the origin moves: the old burst is out of the window for good
        Assert.False(w.EpisodeAlerted);
        Assert.Equal(1, w.CountInWindow);
        Assert.Equal(later, w.Newest);

        Assert.Equal(1, AddAll(w, Enumerable.Range(1, 20).Select(i => later + (i * Second))));
        Assert.Equal(later + (20 * Second), w.Newest);
        Assert.Equal(21, w.CountInWindow);
        Assert.True(w.ExceededAt(later + (20 * Second) + Window - (20 * Second)));
        Assert.False(w.ExceededAt(later + Window + 1));
    }

    [Fact]
    public void BackfillDaysOldArrivingAfterRecentEventsChangesNothing()
    {
        var w = new ForbiddenRateWindow();
        var now = 40 * Day;
        AddAll(w, Enumerable.Range(0, 20).Select(i => now + (i * Second)));
        var saved = w.Save();

        // 403s of 30 days ago, late: older than the window of the newest, they never count.
        Assert.Equal(0, AddAll(w, Enumerable.Range(0, 50).Select(i => (10 * Day) + (i * Second))));
        Assert.Equal(20, w.CountInWindow);
        Assert.Equal(now + (19 * Second), w.Newest);

        // One more inside the window still fires: the old ones left no trace in it.
        Assert.True(w.Add(now + (30 * Second), active: true));
        w.Restore(saved);
        Assert.True(w.Add(now - Window + (19 * Second), active: true)); // late, exactly at the window's start
    }

    [Fact]
    public void AHistoricalBurstOnAnEmptyWindowFires()
    {
        var w = new ForbiddenRateWindow();
        var longAgo = DbTime.ToMicros(new DateTimeOffset(1969, 7, 20, 20, 17, 40, TimeSpan.Zero)); // before 1970: negative
        Assert.True(longAgo < 0);
        Assert.Equal(1, AddAll(w, Enumerable.Range(0, 21).Select(i => longAgo + (i * 14 * Second))));
        Assert.Equal(longAgo + (280 * Second), w.Newest);
        Assert.Equal(21, w.CountInWindow);
    }

    [Fact]
    public void TimestampsSpreadOverHoursKeepTheirOrderAndTheBoundary()
    {
        var w = new ForbiddenRateWindow();
        AddAll(w, Enumerable.Range(0, 60).Select(i => i * 10 * Minute)); // 10 hours, the ring spans 200 minutes
        var newest = 590 * Minute;
        Assert.Equal(newest, w.Newest);
        Assert.Equal(1, w.CountInWindow);

        // Late, inside the window of the newest; the one exactly at its start counts, one µs before does not.
        Assert.False(w.Add(newest - Window - 1, active: true));
        Assert.Equal(1, w.CountInWindow);
        Assert.Equal(0, AddAll(w, Enumerable.Range(0, 19).Select(i => newest - Window + (i * Second))));
        Assert.Equal(20, w.CountInWindow);
        var saved = w.Save();
        Assert.True(w.Add(newest - (Window / 2), active: true));
        w.Restore(saved);
        Assert.Equal(newest, w.Newest);
        Assert.Equal(20, w.CountInWindow);
        Assert.False(w.Add(newest - Window - 1, active: true));
        Assert.True(w.Add(newest, active: true)); // a second 403 at the same µs as the newest
    }

    [Fact]
    public void AnEpisodeEndedBeforeAMoveOfTheOriginKeepsItsEnd()
    {
        var w = new ForbiddenRateWindow();
        var start = 5 * Day;
        Assert.Equal(1, AddAll(w, Enumerable.Range(0, 21).Select(i => start + (i * Second))));
        w.EndEpisode();
        Assert.Equal(start + (20 * Second), w.ResolvedThrough);
        Assert.False(w.Add(start + Second, active: true)); // a straggler of the ended episode

        w.Load([.. Enumerable.Range(0, 21).Select(i => start + (i * Second))], episodeAlerted: false, resolvedThrough: start + (20 * Second));
        Assert.Equal(start + (20 * Second), w.ResolvedThrough);
        Assert.False(w.Add(start + (2 * Second), active: true));
        Assert.False(w.Add(start + (2 * Hour), active: true)); // far newer: the window holds one, the episode's end is forgotten
        Assert.Null(w.ResolvedThrough);
    }

    [Fact]
    public void OneWindowIsSmall()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var w = new ForbiddenRateWindow();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(w);
        Assert.True(allocated <= 128, $"One window takes {allocated} bytes; its 21 timestamps are 4-byte offsets (about 120 bytes in all).");
    }

    /// <summary>
    /// Against the rule kept with whole timestamps (the 21 newest as longs, as the window was
    /// before its packing): any arrival order, gaps from a microsecond to weeks, late events by
    /// up to weeks, ends on the clock, uncommitted batches undone, reloads.
    /// </summary>
    [Fact]
    public void DecidesLikeTheWholeTimestampRuleOverAnySpread()
    {
        var random = new Random(20261130);
        long[] gaps = [1, Second, 10 * Second, Minute, 30 * Minute, 2 * Hour, Day, 9 * Day];
        for (var run = 0; run < 200; run++)
        {
            var w = new ForbiddenRateWindow();
            var r = new WholeTimestamps();
            long clock = random.Next(-1000, 1000) * Day;
            var all = new List<long>();
            for (var step = 0; step < 300; step++)
            {
                // Mostly bursts (gaps around the threshold rate), sometimes long silences.
                var gap = random.Next(4) == 0 ? gaps[random.Next(gaps.Length)] : random.Next(0, 30) * Second;
                clock += gap;
                var t = random.Next(5) switch
                {
                    0 => clock - random.NextInt64(0, 14 * Day),
                    1 => clock - random.NextInt64(0, 2 * Window),
                    _ => clock,
                };
                var active = random.Next(10) != 0;
                all.Add(t);

                Assert.Equal(r.Add(t, active), w.Add(t, active));
                Same(r, w, random.NextInt64(clock - Hour, clock + Hour));

                switch (random.Next(40))
                {
                    case 0:
                        r.EndEpisode();
                        w.EndEpisode();
                        break;
                    case 1:
                        var saved = w.Save();
                        var savedReference = r.Save();
                        foreach (var late in Enumerable.Range(0, random.Next(1, 30)).Select(_ => clock - random.NextInt64(0, 3 * Window)))
                        {
                            Assert.Equal(r.Add(late, true), w.Add(late, true));
                        }

                        w.Restore(saved);
                        r.Restore(savedReference);
                        break;
                    case 2:
                        // A reactivation: the 21 newest read back from the log.
                        long[] newest = [.. all.Order().TakeLast(ForbiddenRateWindow.Capacity)];
                        var alerted = random.Next(2) == 0;
                        long? through = random.Next(2) == 0 ? newest[^1] + random.Next(0, 3) : null;
                        r.Load(newest, alerted, through);
                        w.Load(newest, alerted, through);
                        break;
                }

                Same(r, w, clock);
            }
        }
    }

    private static void Same(WholeTimestamps expected, ForbiddenRateWindow actual, long end)
    {
        Assert.Equal(expected.Newest, actual.Newest);
        Assert.Equal(expected.CountInWindow, actual.CountInWindow);
        Assert.Equal(expected.Exceeded, actual.Exceeded);
        Assert.Equal(expected.ExceededAt(end), actual.ExceededAt(end));
        Assert.Equal(expected.EpisodeAlerted, actual.EpisodeAlerted);
        Assert.Equal(expected.ResolvedThrough, actual.ResolvedThrough);
    }

    private static int AddAll(ForbiddenRateWindow w, IEnumerable<long> times, bool active = true) => times.Count(t => w.Add(t, active));

    /// <summary>The rule over the 21 newest timestamps kept whole, written plainly.</summary>
    private sealed class WholeTimestamps
    {
        private const int Capacity = ForbiddenRateWindow.Capacity;
        private List<long> kept = [];

        public bool EpisodeAlerted { get; private set; }

        public long? ResolvedThrough { get; private set; }

        public long? Newest => kept.Count == 0 ? null : kept[^1];

        public int CountInWindow => kept.Count == 0 ? 0 : kept.Count(x => x >= kept[^1] - Window);

        public bool Exceeded => kept.Count == Capacity && kept[0] >= kept[^1] - Window;

        public bool ExceededAt(long end) => kept.Count == Capacity && kept[0] >= Math.Max(end, kept[^1]) - Window;

        public void Load(long[] newestAscending, bool episodeAlerted, long? resolvedThrough)
        {
            kept = [];
            foreach (var t in newestAscending)
            {
                Insert(t);
            }

            EpisodeAlerted = episodeAlerted;
            ResolvedThrough = !episodeAlerted && Exceeded && resolvedThrough >= Newest ? resolvedThrough : null;
        }

        public void EndEpisode()
        {
            EpisodeAlerted = false;
            ResolvedThrough = Exceeded ? Newest : null;
        }

        public bool Add(long t, bool active)
        {
            Insert(t);
            if (!Exceeded)
            {
                EpisodeAlerted = false;
                ResolvedThrough = null;
                return false;
            }

            if (ResolvedThrough is { } through)
            {
                if (t <= through)
                {
                    return false;
                }

                ResolvedThrough = null;
            }

            if (EpisodeAlerted || !active)
            {
                return false;
            }

            EpisodeAlerted = true;
            return true;
        }

        public (List<long>, bool, long?) Save() => ([.. kept], EpisodeAlerted, ResolvedThrough);

        public void Restore((List<long> Kept, bool Alerted, long? Through) saved) =>
            (kept, EpisodeAlerted, ResolvedThrough) = ([.. saved.Kept], saved.Alerted, saved.Through);

        private void Insert(long t)
        {
            if (kept.Count == Capacity && t <= kept[0])
            {
                return;
            }

            var i = kept.FindLastIndex(x => x <= t) + 1;
            kept.Insert(i, t);
            if (kept.Count > Capacity)
            {
                kept.RemoveAt(0);
            }
        }
    }
}
