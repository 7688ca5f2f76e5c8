using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Bench.Tests;

/// <summary>
/// The bench cannot rot: <c>--quick</c> runs every phase as a child process of the bench's own
/// build and must write its JSON with every figure. No figure is compared with a target here
/// (speed targets live in the bench's table, README Performance): a figure must only exist and be
/// a positive number, which it cannot be when its phase did not run.
/// </summary>
public sealed class BenchSmokeTests
{
    private static readonly string[] SqliteKeys =
    [
        "ingest.events_per_s", "ingest.baseline_rows_per_s", "ingest.ratio",
        "detector.ns_per_event",
        "detect.p50_ms", "detect.p99_ms",
        "detect_loaded.p50_ms", "detect_loaded.p99_ms", "detect_loaded.background_events_per_s",
        "memory.bytes_per_detector", "memory.ratio",
        "query.p50_ms", "query.p99_ms", "query.baseline_p50_ms", "query.principal_ms", "query.source_ip_ms",
        "console.overview_ms", "console.audit_trail_ms",
    ];

    private static readonly string[] PostgresKeys =
    [
        "ingest_pg.events_per_s", "ingest_pg.baseline_rows_per_s", "ingest_pg.ratio",
        "ingest_pg2.events_per_s", "ingest_pg2.ratio",
        "query_pg.p50_ms", "query_pg.p99_ms",
    ];

    [Fact]
    public async Task QuickRunCompletesAndWritesEveryFigure()
    {
        using var directory = new TempDirectory("auditorleans-bench-smoke");
        var json = directory.Combine("bench.json");
        var (exitCode, output) = await RunAsync(["--quick", "--json", json], TimeSpan.FromMinutes(4));
        Assert.True(exitCode == 0, $"The bench exited with {exitCode}:\n{output}");
        Assert.True(File.Exists(json), $"The bench wrote no JSON file:\n{output}");

        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var root = document.RootElement;
        Assert.Equal("quick", root.GetProperty("run").GetProperty("mode").GetString());
        var postgres = PostgresServer.UnavailableReason is null || PostgresServer.Required;
        foreach (var key in postgres ? [.. SqliteKeys, .. PostgresKeys] : SqliteKeys)
        {
            Assert.True(root.TryGetProperty(key, out var value), $"The JSON has no '{key}':\n{output}");
            Assert.True(value.ValueKind == JsonValueKind.Number && value.GetDouble() > 0 && double.IsFinite(value.GetDouble()), $"'{key}' is {value}, not a positive number.");
        }

        // The table the README is refreshed from: one row per figure, and the machine line.
        Assert.Contains("| query.p99_ms", output, StringComparison.Ordinal);
        Assert.Contains("Machine: ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownPhaseIsRefusedWithTheListOfPhases()
    {
        var (exitCode, output) = await RunAsync(["--only", "ingest,nonsense"], TimeSpan.FromMinutes(1));
        Assert.Equal(2, exitCode);
        Assert.Contains("'nonsense' is not a phase", output, StringComparison.Ordinal);
        Assert.Contains("query", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheLoadedPhaseRunsAtTheRateAskedAndSaysSo()
    {
        using var directory = new TempDirectory("auditorleans-bench-rate");
        var json = directory.Combine("bench.json");
        var (exitCode, output) = await RunAsync(["--quick", "--only", "loaded", "--loaded-rate", "600", "--json", json], TimeSpan.FromMinutes(2));
        Assert.True(exitCode == 0, $"The bench exited with {exitCode}:\n{output}");

        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var root = document.RootElement;
        Assert.Equal(600, root.GetProperty("run").GetProperty("loaded_rate").GetDouble());
        // Paced to 600 events/s in batches of 100 (a batch goes when due, so a short quick run may be
        // one batch ahead): near the rate asked, far below half of what the silo takes (thousands).
        var background = root.GetProperty("detect_loaded.background_events_per_s").GetDouble();
        Assert.InRange(background, 300, 900);
        Assert.Contains("paced to 600 events/s (--loaded-rate;", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("50")]
    [InlineData("fast")]
    [InlineData("NaN")]
    public async Task ALoadedRateThatIsNotARateIsRefusedWithWhatToGive(string rate)
    {
        var (exitCode, output) = await RunAsync(["--only", "loaded", "--loaded-rate", rate], TimeSpan.FromMinutes(1));
        Assert.Equal(2, exitCode);
        Assert.Contains("--loaded-rate: give the background of the loaded phase in events/s, at least 100", output, StringComparison.Ordinal);
        Assert.Contains($"got '{rate}'", output, StringComparison.Ordinal);
    }

    /// <summary>Runs the bench's dll (the configuration this test was built with) and returns its exit code and output.</summary>
    private static async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(BenchDll());
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start dotnet.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"The bench did not finish within {timeout.TotalSeconds:0} s:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, (await stdout) + (await stderr));
    }

    private static string BenchDll()
    {
        var assembly = typeof(BenchSmokeTests).Assembly;
        var configuration = assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AuditOrleans.sln")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;
        var dll = Path.Combine(directory.FullName, "bench", "AuditOrleans.Bench", "bin", configuration, framework, "AuditOrleans.Bench.dll");
        Assert.True(File.Exists(dll), $"The bench is not built at {dll}: build the solution (this project references the bench so that it is).");
        return dll;
    }
}
