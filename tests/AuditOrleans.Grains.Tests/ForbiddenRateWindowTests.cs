using AuditOrleans.Grains.Detection;
using Xunit;

namespace AuditOrleans.Grains.Tests;

public sealed class ForbiddenRateWindowTests
{
    private const long Second = 1_000_000;
    private static readonly long Window = ForbiddenRateWindow.WindowMicros;

    private static int AddAll(ForbiddenRateWindow w, IEnumerable<long> times, bool active = true) => times.Count(t => w.Add(t, active));

    [Fact]
    public void TwentyInTheWindowDoNotFireTheTwentyFirstDoes()
    {
        var w = new ForbiddenRateWindow();
        Assert.Equal(0, AddAll(w, Enumerable.Range(0, 20).Select(i => i * Second)));
        Assert.Equal(20, w.CountInWindow);
        Assert.True(w.Add(20 * Second, active: true));
        Assert.Equal(21, w.CountInWindow);
    }

    [Fact]
    public void BoundaryEventExactlyFiveMinutesOlderCounts()
    {
        var w = new ForbiddenRateWindow();
        AddAll(w, Enumerable.Range(0, 20).Select(i => i * Second));
        Assert.True(w.Add(Window, active: true)); // the first event lies exactly at newest - 5 min
    }

    [Fact]
    public void EventJustOutsideTheWindowDoesNotCount()
    {
        var w = new ForbiddenRateWindow();
        AddAll(w, Enumerable.Range(0, 20).Select(i => i * Second));
        Assert.False(w.Add(Window + 1, active: true)); // the first event is now 1 µs too old
        Assert.Equal(20, w.CountInWindow);
    }

    [Fact]
    public void LateEventInsideTheWindowCounts()
    {
        var w = new ForbiddenRateWindow();
        AddAll(w, Enumerable.Range(0, 20).Select(i => (100 + i) * Second));
        Assert.True(w.Add(10 * Second, active: true)); // out of order, still within 5 minutes of the newest
    }

    [Fact]
    public void LateEventOutsideTheWindowDoesNotCount()
    {
        var w = new ForbiddenRateWindow();
        AddAll(w, Enumerable.Range(0, 20).Select(i => (400 + i) * Second));
        Assert.False(w.Add(10 * Second, active: true));
        Assert.Equal(20, w.CountInWindow);
    }

    [Fact]
    public void FiresOncePerEpisodeAndAgainAfterTheCountFellBack()
    {
        var w = new ForbiddenRateWindow();
        Assert.Equal(1, AddAll(w, Enumerable.Range(0, 40).Select(i => i * Second)));

        // 20 minutes later a single 403: the window holds 1 event, the episode ends.
        Assert.False(w.Add(1200 * Second, active: true));
        Assert.False(w.EpisodeAlerted);

        Assert.Equal(1, AddAll(w, Enumerable.Range(1, 25).Select(i => (1200 + i) * Second)));
    }

    [Fact]
    public void InactiveAlertDoesNotConsumeTheEpisode()
    {
        var w = new ForbiddenRateWindow();
        Assert.Equal(0, AddAll(w, Enumerable.Range(0, 30).Select(i => i * Second), active: false));
        Assert.True(w.Add(31 * Second, active: true)); // enabled during the attack: reported at the next 403
    }

    [Fact]
    public void RestoreUndoesAnUncommittedBatch()
    {
        var w = new ForbiddenRateWindow();
        AddAll(w, Enumerable.Range(0, 20).Select(i => i * Second));
        var saved = w.Save();
        Assert.True(w.Add(20 * Second, active: true));
        w.Restore(saved);
        Assert.Equal(20, w.CountInWindow);
        Assert.True(w.Add(20 * Second, active: true));
    }

    [Fact]
    public void LoadRebuildsTheDecisionFromTheNewestTimestamps()
    {
        var w = new ForbiddenRateWindow();
        w.Load([.. Enumerable.Range(0, 15).Select(i => i * Second)], episodeAlerted: false);
        Assert.Equal(0, AddAll(w, Enumerable.Range(15, 5).Select(i => i * Second)));
        Assert.True(w.Add(20 * Second, active: true));
    }

    [Fact]
    public void AMillionForbiddenDoNotGrowTheWindow()
    {
        var w = new ForbiddenRateWindow();
        w.Add(0, active: true);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var fired = 0;
        for (long i = 1; i <= 1_000_000; i++)
        {
            fired += w.Add(i * 1000, active: true) ? 1 : 0;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1, fired);
        Assert.True(allocated < 1024, $"Adding a million 403s allocated {allocated} bytes.");
        Assert.Equal(ForbiddenRateWindow.Capacity, w.CountInWindow);
    }

    [Fact]
    public void LateEventsAfterTheRingWrappedAreKeptInOrder()
    {
        var w = new ForbiddenRateWindow();
        AddAll(w, Enumerable.Range(0, 50).Select(i => i * 100 * Second)); // 100 s apart: 4 per 5 minutes, the ring wraps twice
        Assert.Equal(4, w.CountInWindow);
        var late = Enumerable.Range(0, 16).Select(i => (4700 + i) * Second).ToList(); // late, inside the window of the newest (4900 s)
        Assert.Equal(0, AddAll(w, late));
        Assert.Equal(20, w.CountInWindow);
        var saved = w.Save();
        Assert.True(w.Add(4650 * Second, active: true)); // late again: the 21st in the window
        w.Restore(saved);
        Assert.Equal(4900 * Second, w.Newest);
        Assert.True(w.Add(4650 * Second, active: true));
    }

    [Fact]
    public void DecidesLikeCountingEveryEventInAnyArrivalOrder()
    {
        var random = new Random(20261123);
        for (var run = 0; run < 50; run++)
        {
            var w = new ForbiddenRateWindow();
            var all = new List<long>();
            var alerted = false;
            long clock = 0;
            for (var step = 0; step < 400; step++)
            {
                // Mostly in order with gaps around the threshold rate, sometimes late by up to 10 minutes.
                clock += random.Next(1, 30) * Second;
                var t = random.Next(5) == 0 ? clock - (random.Next(0, 600) * Second) : clock;
                var active = random.Next(10) != 0;
                all.Add(t);
                var newest = all.Max();
                var exceeded = all.Count(x => x >= newest - Window && x <= newest) > 20;
                var expected = exceeded && !alerted && active;
                alerted = exceeded && (alerted || active);

                Assert.Equal(expected, w.Add(t, active));
                Assert.Equal(newest, w.Newest);
                Assert.Equal(exceeded, w.Exceeded);
            }
        }
    }

    [Fact]
    public void AnEpisodeEndedOnTheClockIsNotReopenedByAStragglerButByANewer403()
    {
        var w = new ForbiddenRateWindow();
        Assert.Equal(1, AddAll(w, Enumerable.Range(0, 21).Select(i => i * Second)));
        Assert.True(w.ExceededAt(20 * Second));
        Assert.False(w.ExceededAt(20 * Second + Window + 1));

        w.EndEpisode();

        Assert.False(w.EpisodeAlerted);
        Assert.Equal(20 * Second, w.ResolvedThrough);
        Assert.False(w.Add(10 * Second, active: true)); // late, of the ended episode
        Assert.True(w.Add(21 * Second, active: true)); // newer: the window still holds more than 20
        Assert.Null(w.ResolvedThrough);
    }

    [Fact]
    public void LoadKeepsAStoredOpenEpisodeAndTheEndOfOneResolvedOnTheClock()
    {
        var w = new ForbiddenRateWindow();
        long[] times = [.. Enumerable.Range(0, 21).Select(i => i * Second)];

        w.Load(times, episodeAlerted: true);
        Assert.True(w.EpisodeAlerted);
        Assert.False(w.Add(21 * Second, active: true));

        w.Load(times, episodeAlerted: false, resolvedThrough: 20 * Second);
        Assert.Equal(20 * Second, w.ResolvedThrough);
        Assert.False(w.Add(5 * Second, active: true));
    }

    [Fact]
    public void TopValuesAreExactUnderCapacityAndKeepTheHeavyHittersBeyond()
    {
        var top = new TopValues();
        top.Add("b", 3);
        top.Add("a", 3);
        top.Add("c");
        Assert.Equal(["a", "b", "c"], top.Top(5));

        for (var i = 0; i < 1000; i++)
        {
            top.Add($"noise-{i}");
            top.Add("attacker");
        }

        Assert.Equal(TopValues.Capacity, top.Count);
        Assert.Equal("attacker", top.Top(1)[0]);
    }
}
