namespace AuditOrleans.Grains.Detection;

/// <summary>
/// The HttpForbiddenErrorRateHigh rule: more than 20 HTTP 403 events whose recorded_at lies in
/// the 5 minutes ending at the newest 403's recorded_at (both ends included), firing once per
/// episode.
/// </summary>
/// <remarks>
/// Memory is bounded by the threshold, not by the traffic: whether more than 20 events lie in
/// the window depends only on the 21 newest timestamps (the condition holds exactly when the
/// 21st newest is no older than the newest minus 5 minutes), so only those are kept, sorted,
/// in a fixed array. An out-of-order event older than all of them cannot change the outcome
/// and is dropped; a late event that is among them is inserted in order.
/// </remarks>
public sealed class ForbiddenRateWindow
{
    /// <summary>Timestamps kept: one more than the threshold.</summary>
    public const int Capacity = AlertCatalog.ForbiddenThreshold + 1;

    /// <summary>Window length in microseconds.</summary>
    public static readonly long WindowMicros = (long)AlertCatalog.ForbiddenWindow.TotalMicroseconds;

    // A ring in ascending order: At(0) = times[first] is the oldest kept, At(count - 1) the
    // newest. An in-order 403 (the usual case) overwrites the oldest slot in O(1); only a late
    // one is inserted by shifting. The ring is stored inline in this object (no separate array):
    // a detector keeps one per active project-region.
    private Ring times;
    private int first;
    private int count;

    /// <summary>True once the current episode has fired; cleared when the count falls back to 20 or less.</summary>
    public bool EpisodeAlerted { get; private set; }

    /// <summary>recorded_at (µs) of the newest 403, or null before the first.</summary>
    public long? Newest => count == 0 ? null : At(count - 1);

    /// <summary>403 events in the window, counted up to <see cref="Capacity"/> (enough to decide the rule).</summary>
    public int CountInWindow
    {
        get
        {
            if (count == 0)
            {
                return 0;
            }

            var start = At(count - 1) - WindowMicros;
            var n = 0;
            for (var i = count - 1; i >= 0 && At(i) >= start; i--)
            {
                n++;
            }

            return n;
        }
    }

    /// <summary>True when more than 20 events lie in the window.</summary>
    public bool Exceeded => count == Capacity && times[first] >= At(Capacity - 1) - WindowMicros;

    /// <summary>Replaces the state with the newest 403 timestamps read from the log.</summary>
    public void Load(ReadOnlySpan<long> newestAscending, bool episodeAlerted)
    {
        count = 0;
        first = 0;
        foreach (var t in newestAscending)
        {
            Insert(t);
        }

        EpisodeAlerted = episodeAlerted && Exceeded;
    }

    /// <summary>
    /// Adds one 403 and returns true when this event starts an episode that must be reported:
    /// the count now exceeds 20 and the episode has not fired yet. Pass
    /// <paramref name="active"/> false while the alert is disabled: the episode is then not
    /// marked as fired, so enabling the alert during an attack reports it at the next 403.
    /// </summary>
    public bool Add(long recordedAtMicros, bool active)
    {
        Insert(recordedAtMicros);
        if (!Exceeded)
        {
            EpisodeAlerted = false;
            return false;
        }

        if (EpisodeAlerted || !active)
        {
            return false;
        }

        EpisodeAlerted = true;
        return true;
    }

    /// <summary>A copy of the state, to restore if the batch that changed it is not committed.</summary>
    public Snapshot Save()
    {
        var copy = new long[Capacity];
        for (var i = 0; i < count; i++)
        {
            copy[i] = At(i);
        }

        return new(copy, count, EpisodeAlerted);
    }

    public void Restore(Snapshot snapshot)
    {
        snapshot.Times.AsSpan(0, Capacity).CopyTo(times);
        first = 0;
        count = snapshot.Count;
        EpisodeAlerted = snapshot.EpisodeAlerted;
    }

    private long At(int i) => times[(first + i) % Capacity];

    private void Insert(long t)
    {
        if (count == Capacity)
        {
            if (t <= times[first])
            {
                return;
            }

            if (t >= At(Capacity - 1))
            {
                // In order: the oldest slot becomes the newest.
                times[first] = t;
                first = (first + 1) % Capacity;
                return;
            }

            // Late: drop the oldest, then insert in order below.
            first = (first + 1) % Capacity;
            count--;
        }

        var i = count - 1;
        while (i >= 0 && At(i) > t)
        {
            times[(first + i + 1) % Capacity] = At(i);
            i--;
        }

        times[(first + i + 1) % Capacity] = t;
        count++;
    }

    public readonly record struct Snapshot(long[] Times, int Count, bool EpisodeAlerted);

    [System.Runtime.CompilerServices.InlineArray(Capacity)]
    private struct Ring
    {
        private long element;
    }
}
