namespace AuditOrleans.Grains.Detection;

/// <summary>
/// The HttpForbiddenErrorRateHigh rule: more than 20 HTTP 403 events whose recorded_at lies in
/// the 5 minutes ending at the newest 403's recorded_at (both ends included), firing once per
/// episode (docs/alerts.md, Forbidden rate). What an episode reported lives in
/// <see cref="ForbiddenEpisode"/>.
/// </summary>
/// <remarks>
/// <para>
/// Memory is bounded by the threshold, not by the traffic: whether more than 20 events lie in
/// the window depends only on the 21 newest timestamps (the condition holds exactly when the
/// 21st newest is no older than the newest minus 5 minutes), so only those are kept, sorted,
/// in a fixed array. An out-of-order event older than all of them cannot change the outcome
/// and is dropped; a late event that is among them is inserted in order.
/// </para>
/// <para>
/// The timestamps are kept as 4-byte offsets in microseconds from an origin (about 71 minutes
/// of range), which halves the ring: a detector keeps one per active project-region. The
/// origin always lies more than the window before the newest 403, and the newest never moves
/// back, so a timestamp below the origin can never count again: it is kept as the origin
/// itself. Only the number of such expired timestamps matters to every answer of this type
/// (they fill slots of the ring and none lies in the window), not their values, so this is
/// exact. A newer 403 beyond the range moves the origin up to just over the window before it,
/// and the timestamps that fall below it become expired the same way.
/// </para>
/// </remarks>
public sealed class ForbiddenRateWindow
{
    /// <summary>Timestamps kept: one more than the threshold.</summary>
    public const int Capacity = AlertCatalog.ForbiddenThreshold + 1;

    /// <summary>Window length in microseconds.</summary>
    public static readonly long WindowMicros = (long)AlertCatalog.ForbiddenWindow.TotalMicroseconds;

    // The origin is set this far before the newest 403: 1 µs more than the window, so that a
    // timestamp kept as the origin is out of the window of the newest.
    private static readonly long OriginLead = WindowMicros + 1;

    // ResolvedThrough when there is none (a recorded_at cannot be this far in the past).
    private const long NoneResolved = long.MinValue;

    // Timestamp of offset 0; at most the newest minus OriginLead while the ring is not empty.
    private long origin;
    private long resolvedThrough = NoneResolved;

    // A ring in ascending order: At(0) is the oldest kept, At(count - 1) the newest. An in-order
    // 403 (the usual case) overwrites the oldest slot in O(1); only a late one is inserted by
    // shifting. The ring is stored inline in this object (no separate array).
    private Ring offsets;
    private byte first;
    private byte count;

    /// <summary>True once the current episode has fired; cleared when the count falls back to 20 or less, or the episode is ended on the clock.</summary>
    public bool EpisodeAlerted { get; private set; }

    /// <summary>
    /// recorded_at (µs) of the last 403 of an episode that was ended on the silo's clock while the
    /// window (ending at the newest 403) still held more than 20: a 403 at or before it belongs to
    /// that episode and cannot start a new one (a straggler of an attack already reported over).
    /// </summary>
    public long? ResolvedThrough
    {
        get => resolvedThrough == NoneResolved ? null : resolvedThrough;
        private set => resolvedThrough = value ?? NoneResolved;
    }

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
    public bool Exceeded => count == Capacity && At(0) >= At(Capacity - 1) - WindowMicros;

    /// <summary>
    /// True when more than 20 events lie in the 5 minutes ending at <paramref name="endMicros"/>,
    /// or at the newest 403 if that is later (a quiet period moves the window on the silo's clock).
    /// </summary>
    public bool ExceededAt(long endMicros) =>
        count == Capacity && At(0) >= Math.Max(endMicros, At(Capacity - 1)) - WindowMicros;

    /// <summary>
    /// Replaces the state with the newest 403 timestamps read from the log, whether an episode is
    /// open (as stored), and the end of the last episode ended on the clock.
    /// </summary>
    public void Load(ReadOnlySpan<long> newestAscending, bool episodeAlerted, long? resolvedThrough = null)
    {
        count = 0;
        first = 0;
        foreach (var t in newestAscending)
        {
            Insert(t);
        }

        EpisodeAlerted = episodeAlerted;
        ResolvedThrough = !episodeAlerted && Exceeded && resolvedThrough >= Newest ? resolvedThrough : null;
    }

    /// <summary>
    /// Ends the episode on the silo's clock (no 403 came for the window's length). While the
    /// window still holds more than 20, only a 403 newer than the newest can start a new one.
    /// </summary>
    public void EndEpisode()
    {
        EpisodeAlerted = false;
        ResolvedThrough = Exceeded ? Newest : null;
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
            ResolvedThrough = null;
            return false;
        }

        if (ResolvedThrough is { } through)
        {
            if (recordedAtMicros <= through)
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

    /// <summary>A copy of the state, to restore if the batch that changed it is not committed.</summary>
    public Snapshot Save()
    {
        var copy = new long[Capacity];
        for (var i = 0; i < count; i++)
        {
            copy[i] = At(i);
        }

        return new(copy, count, EpisodeAlerted, ResolvedThrough);
    }

    public void Restore(Snapshot snapshot)
    {
        count = 0;
        first = 0;
        foreach (var t in snapshot.Times.AsSpan(0, snapshot.Count))
        {
            Insert(t);
        }

        EpisodeAlerted = snapshot.EpisodeAlerted;
        ResolvedThrough = snapshot.ResolvedThrough;
    }

    private long At(int i) => origin + offsets[(first + i) % Capacity];

    private void Insert(long t)
    {
        if (count == 0)
        {
            origin = t - OriginLead;
        }
        else if (t - origin > uint.MaxValue)
        {
            // Newer than the range (so newer than the newest): the origin follows it.
            MoveOrigin(t - OriginLead);
        }

        // Below the origin means out of the window for good: kept as the origin (see remarks).
        var o = t <= origin ? 0u : (uint)(t - origin);
        if (count == Capacity)
        {
            if (o <= offsets[first])
            {
                return;
            }

            if (o >= offsets[(first + Capacity - 1) % Capacity])
            {
                // In order: the oldest slot becomes the newest.
                offsets[first] = o;
                first = (byte)((first + 1) % Capacity);
                return;
            }

            // Late: drop the oldest, then insert in order below.
            first = (byte)((first + 1) % Capacity);
            count--;
        }

        var i = count - 1;
        while (i >= 0 && offsets[(first + i) % Capacity] > o)
        {
            offsets[(first + i + 1) % Capacity] = offsets[(first + i) % Capacity];
            i--;
        }

        offsets[(first + i + 1) % Capacity] = o;
        count++;
    }

    /// <summary>Moves the origin up to <paramref name="to"/>; the timestamps below it are kept as it (expired, see remarks).</summary>
    private void MoveOrigin(long to)
    {
        for (var i = 0; i < count; i++)
        {
            var slot = (first + i) % Capacity;
            var t = origin + offsets[slot];
            offsets[slot] = t <= to ? 0u : (uint)(t - to);
        }

        origin = to;
    }

    public readonly record struct Snapshot(long[] Times, int Count, bool EpisodeAlerted, long? ResolvedThrough);

    [System.Runtime.CompilerServices.InlineArray(Capacity)]
    private struct Ring
    {
        private uint element;
    }
}
