namespace AuditOrleans.Console.Tests;

/// <summary>The provider's real export (tests/data/provider-events.jsonl), moved into a test's project.</summary>
public static class ProviderEvents
{
    public static string Path => System.IO.Path.Combine(BrowserSetup.RepositoryRoot(), "tests", "data", "provider-events.jsonl");

    /// <summary>Every event of the export, in the test's project (the ids kept: they are unique per project).</summary>
    public static IReadOnlyList<AuditEvent> For(string projectId) =>
        [.. File.ReadAllLines(Path).Where(static l => l.Length > 0).Select(l => AuditEventJson.Parse(l) with { ProjectId = projectId })];

    /// <summary>A range that holds every event of the export.</summary>
    public static (DateTimeOffset From, DateTimeOffset To) Range => (new DateTimeOffset(2025, 8, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2025, 12, 1, 0, 0, 0, TimeSpan.Zero));
}
