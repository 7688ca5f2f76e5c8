using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>
/// A test that drives headless Chromium (Debian's <c>chromium</c>) with npm's playwright-core.
/// Skipped, with the reason and the command that fixes it, where either is missing, unless
/// <c>AUDITORLEANS_REQUIRE_BROWSER=1</c> (CI): then it runs and fails with that reason.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public const string RequireVariable = "AUDITORLEANS_REQUIRE_BROWSER";

    public BrowserFactAttribute()
    {
        if (BrowserSetup.Problem is { } problem && Environment.GetEnvironmentVariable(RequireVariable) != "1")
        {
            Skip = problem;
        }
    }
}

/// <summary>Where the browser tests find Chromium, node and the driver script.</summary>
public static class BrowserSetup
{
    /// <summary>Overrides the Chromium executable (default /usr/bin/chromium).</summary>
    public const string ChromiumVariable = "AUDITORLEANS_CHROMIUM";

    public static string Chromium => Environment.GetEnvironmentVariable(ChromiumVariable) is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>tests/AuditOrleans.Console.Tests/browser in this checkout.</summary>
    public static string ScriptDirectory { get; } = Path.Combine(RepositoryRoot(), "tests", "AuditOrleans.Console.Tests", "browser");

    public static string? Node { get; } = FindOnPath("node");

    /// <summary>Why the browser tests cannot run here, or null.</summary>
    public static string? Problem { get; } = FindProblem();

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AuditOrleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"AuditOrleans.sln not found above {AppContext.BaseDirectory}: run the tests from the repository.");
    }

    private static string? FindProblem()
    {
        const string fix = "Install them with: apt-get install chromium nodejs npm && npm ci --prefix tests/AuditOrleans.Console.Tests/browser " +
            "(.ci/run does; AUDITORLEANS_REQUIRE_BROWSER=1 makes these tests fail instead of skipping)";
        if (!File.Exists(Chromium))
        {
            return $"Chromium is not installed ({Chromium} not found; {ChromiumVariable} sets another path). {fix}";
        }

        if (Node is null)
        {
            return $"node is not on PATH. {fix}";
        }

        return Directory.Exists(Path.Combine(ScriptDirectory, "node_modules", "playwright-core"))
            ? null
            : $"playwright-core is not installed in {ScriptDirectory}. {fix}";
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
