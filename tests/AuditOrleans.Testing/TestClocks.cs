using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace AuditOrleans.Testing;

/// <summary>
/// Clocks shared between a test and the in-process silos of its cluster (silo configurators
/// are created by the test host, so they find their clock by id).
/// </summary>
public static class TestClocks
{
    private static readonly ConcurrentDictionary<string, FakeTimeProvider> Clocks = new();

    public static (string Id, FakeTimeProvider Clock) Create(DateTimeOffset start)
    {
        var id = Guid.NewGuid().ToString("N");
        var clock = new FakeTimeProvider(start) { AutoAdvanceAmount = TimeSpan.Zero };
        Clocks[id] = clock;
        return (id, clock);
    }

    public static FakeTimeProvider Get(string id) =>
        Clocks.TryGetValue(id, out var clock) ? clock : throw new InvalidOperationException($"No test clock '{id}'.");
}
