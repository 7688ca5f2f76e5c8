namespace AuditOrleans.Grains.Detection;

/// <summary>
/// The most frequent values of a stream in bounded memory (the Space-Saving algorithm): at
/// most <see cref="Capacity"/> counters; a new value when all are taken replaces the least
/// counted one and inherits its count plus one. Exact while fewer than <see cref="Capacity"/>
/// distinct values have been seen; beyond, every value more frequent than 1/<see cref="Capacity"/>
/// of the stream is kept, and counts may be over-estimated by at most the replaced count.
/// </summary>
public sealed class TopValues
{
    public const int Capacity = 64;

    private readonly Dictionary<string, long> counts = new(StringComparer.Ordinal);

    public int Count => counts.Count;

    public void Add(string value, long times = 1)
    {
        if (counts.TryGetValue(value, out var n))
        {
            counts[value] = n + times;
            return;
        }

        if (counts.Count < Capacity)
        {
            counts[value] = times;
            return;
        }

        var (least, leastCount) = (value, long.MaxValue);
        foreach (var (v, c) in counts)
        {
            if (c < leastCount || (c == leastCount && string.CompareOrdinal(v, least) > 0))
            {
                (least, leastCount) = (v, c);
            }
        }

        counts.Remove(least);
        counts[value] = leastCount + times;
    }

    /// <summary>The <paramref name="n"/> most frequent values, most frequent first, then by value (as the alert's facts order them).</summary>
    public IReadOnlyList<string> Top(int n) =>
        [.. counts.OrderByDescending(static kv => kv.Value).ThenBy(static kv => kv.Key, StringComparer.Ordinal).Take(n).Select(static kv => kv.Key)];

    public void Clear() => counts.Clear();

    public TopValues Clone()
    {
        var copy = new TopValues();
        foreach (var (v, c) in counts)
        {
            copy.counts[v] = c;
        }

        return copy;
    }
}
