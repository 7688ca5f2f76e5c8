using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using AuditOrleans.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>
/// The module's Pester tests (pester/*.Tests.ps1) in a real PowerShell 7.6, all in one pwsh,
/// against a silo started the way the README's quick start starts it: the silo program from
/// an empty directory (its data/ appears there, with the Owner key it generates), default
/// settings except its ports. The README's walk-through runs first, as a user types it.
/// </summary>
public sealed partial class PesterTests(ITestOutputHelper output)
{
    /// <summary>The walk-through runs first: it expects the silo's data directory as a first start leaves it.</summary>
    public const string FirstFile = "Walkthrough.Tests.ps1";

    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task PesterTestsPassInPowerShell()
    {
        var pwsh = await RealPowerShell.EnsureInstalledAsync();
        var modules = RealPowerShell.EnsurePester();
        var root = RealPowerShell.RepositoryRoot;
        var readme = Path.Combine(root, "README.md");
        AssertQuickStartRunsTheSiloProgram(File.ReadAllText(readme));

        // The directory the user starts the silo in: the module where the README imports it from.
        using var directory = new TempDirectory("auditorleans-readme");
        Directory.CreateDirectory(directory.Combine("artifacts", "module"));
        Directory.CreateSymbolicLink(directory.Combine("artifacts", "module", "AuditOrleans"), Path.GetDirectoryName(PowerShellSession.ModuleManifest)!);

        var ports = FreePort.Next(2);
        await using var silo = new SiloProcess(
            "readme-silo",
            new Dictionary<string, string>
            {
                ["Cluster:SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
                ["Cluster:GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
                // Checkpoints every second rather than every minute: the walk-through waits for
                // the one it says comes "within a minute".
                ["Retention:PurgeInterval"] = "00:00:01",
            },
            workingDirectory: directory.Path)
        {
            UseFixtureOwnerKey = false,
        };

        var failuresFile = directory.Combine("pester-result.json");
        (int ExitCode, string Output) run = default;
        try
        {
            await silo.StartAsync(TimeSpan.FromSeconds(90));
            var testDirectory = Path.Combine(root, "tests", "AuditOrleans.PowerShell.Tests", "pester");
            var files = Directory.GetFiles(testDirectory, "*.Tests.ps1").OrderBy(static f => Path.GetFileName(f) == FirstFile ? 0 : 1).ThenBy(static f => f, StringComparer.Ordinal).ToList();
            Assert.Equal(FirstFile, Path.GetFileName(files[0]));
            run = await RealPowerShell.RunAsync(
                pwsh,
                ["-NoLogo", "-NoProfile", "-NonInteractive", "-File", Path.Combine(testDirectory, "RunPester.ps1"),
                    "-ResultFile", failuresFile, "-Path", string.Join(',', files)],
                directory.Path,
                new Dictionary<string, string?>
                {
                    ["PSModulePath"] = modules,
                    ["AUDITORLEANS_GATEWAY"] = $"127.0.0.1:{ports[1]}",
                    ["AUDITORLEANS_CONSOLE_URL"] = silo.Urls,
                    ["AUDITORLEANS_API_KEY"] = null,
                    ["AUDITORLEANS_PROJECT_ID"] = null,
                    ["AUDITORLEANS_TEST_DIRECTORY"] = directory.Path,
                    ["AUDITORLEANS_TEST_README"] = readme,
                    // The path the walk-through imports it from: a process loads the module from one folder only.
                    ["AUDITORLEANS_TEST_MODULE"] = directory.Combine("artifacts", "module", "AuditOrleans", "AuditOrleans.psd1"),
                    ["NO_COLOR"] = "1",
                },
                RunTimeout);
            output.WriteLine(run.Output);

            Assert.True(File.Exists(failuresFile), $"Pester did not report (exit code {run.ExitCode}); its output is above.");
            using var result = JsonDocument.Parse(File.ReadAllText(failuresFile));
            var failures = result.RootElement.GetProperty("Failures").EnumerateArray().Select(static f => f.GetString()).ToList();
            var passed = result.RootElement.GetProperty("Passed").GetInt32();
            Assert.True(
                result.RootElement.GetProperty("Result").GetString() == "Passed" && failures.Count == 0,
                $"Pester: {passed} passed, {failures.Count} failed:\n" + string.Join("\n", failures));
            Assert.True(passed > 10, $"Pester ran only {passed} tests: discovery lost some (its output is above).");
        }
        catch
        {
            output.WriteLine("---- silo ----");
            output.WriteLine(silo.Output);
            throw;
        }
    }

    /// <summary>
    /// The test starts the silo as <see cref="SiloProcess"/> does (its build output, current
    /// directory = where data/ goes); this holds only while the quick start says to run the
    /// program with no settings of its own.
    /// </summary>
    private static void AssertQuickStartRunsTheSiloProgram(string readme)
    {
        var quickStart = readme[readme.IndexOf("## Quick start", StringComparison.Ordinal)..];
        var block = FencedBlock().Match(quickStart);
        Assert.True(block.Success, "README.md: no code block under Quick start.");
        Assert.Contains("\ndotnet run --project src/AuditOrleans.Silo\n", "\n" + block.Groups["code"].Value, StringComparison.Ordinal);
    }

    [GeneratedRegex("```sh\\r?\\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex FencedBlock();
}
