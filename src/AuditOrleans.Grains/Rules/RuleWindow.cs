namespace AuditOrleans.Grains.Rules;

/// <summary>
/// The counting window of one custom rule (docs/rules.md, When a rule fires): the recorded_at
/// times of its matches since its last firing. A rule fires when a match makes the matches whose
/// time lies in the window ending at the newest match number at least its occurrences; the
/// window then starts again from nothing, and a match at or before the firing's time no longer
/// counts. Late matches count when they fall inside the window. Bounded: at most occurrences
/// times are kept.
/// </summary>
public sealed class RuleWindow(TimeSpan window, int occurrences)
{
    private readonly long windowMicros = (long)(window.Ticks / 10);
    private readonly SortedList<long, int> times = [];
    private int count;

    /// <summary>recorded_at (microseconds) of the match that made the rule fire last; null when it never fired.</summary>
    public long? LastFiredAt { get; private set; }

    /// <summary>The matches counted now.</summary>
    public int Count => count;

    /// <summary>The newest match counted (microseconds), or null.</summary>
    public long? Newest => times.Count == 0 ? null : times.Keys[^1];

    /// <summary>Counts one match at <paramref name="micros"/>; true when the rule fires on it (the window is then empty again).</summary>
    public bool Add(long micros)
    {
        if (LastFiredAt is { } fired && micros <= fired)
        {
            return false;
        }

        times[micros] = times.GetValueOrDefault(micros) + 1;
        count++;
        var newest = times.Keys[^1];
        while (times.Count > 0 && times.Keys[0] < newest - windowMicros)
        {
            count -= times.Values[0];
            times.RemoveAt(0);
        }

        if (count >= occurrences)
        {
            LastFiredAt = newest;
            times.Clear();
            count = 0;
            return true;
        }

        // Never more than occurrences times are needed to decide.
        while (count > occurrences && times.Count > 0)
        {
            count -= times.Values[0];
            times.RemoveAt(0);
        }

        return false;
    }

    /// <summary>The window's state, to save or to carry across the chunks of a replay.</summary>
    public RuleWindowState Save()
    {
        var list = new List<long>(count);
        foreach (var (time, n) in times)
        {
            for (var i = 0; i < n; i++)
            {
                list.Add(time);
            }
        }

        return new RuleWindowState(list, LastFiredAt);
    }

    /// <summary>Restores a saved state.</summary>
    public void Restore(RuleWindowState? state)
    {
        times.Clear();
        count = 0;
        LastFiredAt = state?.LastFiredAt;
        foreach (var time in state?.Matches ?? [])
        {
            times[time] = times.GetValueOrDefault(time) + 1;
            count++;
        }
    }
}
