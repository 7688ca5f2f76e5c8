using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>
/// A real PowerShell 7.6 (the PowerShell .NET tool) and Pester, for the tests that run in the
/// shell users have rather than in a hosted runspace. Both are cached under artifacts/tools of
/// the checkout: pwsh is installed there with <c>dotnet tool install</c> when it is absent, and
/// Pester is copied there from the package the test project's restore downloaded.
/// </summary>
public static class RealPowerShell
{
    public const string Version = "7.6.9";

    public const string PesterVersion = "5.7.1";

    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    /// <summary>artifacts/tools under the repository root.</summary>
    public static string ToolsDirectory { get; } = Path.Combine(RepositoryRoot, "artifacts", "tools");

    /// <summary>The folder holding pwsh.</summary>
    public static string PwshDirectory { get; } = Path.Combine(ToolsDirectory, $"powershell-{Version}");

    /// <summary>A folder for $env:PSModulePath holding Pester/&lt;version&gt;.</summary>
    public static string ModulesDirectory { get; } = Path.Combine(ToolsDirectory, "modules");

    /// <summary>The command that installs pwsh where the tests look for it.</summary>
    public static string InstallCommand => $"dotnet tool install --tool-path {PwshDirectory} PowerShell --version {Version}";

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "AuditOrleans.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException($"No AuditOrleans.sln above {AppContext.BaseDirectory}.");
        }
    }

    /// <summary>The path of pwsh, installed first when absent (one installation at a time, across processes too).</summary>
    public static async Task<string> EnsureInstalledAsync(CancellationToken cancellationToken = default)
    {
        var pwsh = Path.Combine(PwshDirectory, OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh");
        await InstallGate.WaitAsync(cancellationToken);
        try
        {
            Directory.CreateDirectory(ToolsDirectory);
            using var fileLock = await LockAsync(Path.Combine(ToolsDirectory, ".install.lock"), cancellationToken);
            if (File.Exists(pwsh) && await ReportsVersionAsync(pwsh, cancellationToken))
            {
                return pwsh;
            }

            // A partial installation (an interrupted run) would make the tool install refuse.
            if (Directory.Exists(PwshDirectory))
            {
                Directory.Delete(PwshDirectory, recursive: true);
            }

            var install = await RunAsync("dotnet", ["tool", "install", "--tool-path", PwshDirectory, "PowerShell", "--version", Version], ToolsDirectory, null, TimeSpan.FromMinutes(5), cancellationToken);
            if (install.ExitCode != 0 || !File.Exists(pwsh))
            {
                throw new InvalidOperationException(
                    $"Could not install PowerShell {Version} as a .NET tool (exit code {install.ExitCode}); the Pester tests need it. Run: {InstallCommand}\n{install.Output}");
            }

            return pwsh;
        }
        finally
        {
            InstallGate.Release();
        }
    }

    /// <summary>
    /// The folder to put on $env:PSModulePath for Pester: the package's tools/ folder (the
    /// module), copied to modules/Pester/&lt;version&gt; when it is not there yet.
    /// </summary>
    public static string EnsurePester()
    {
        var target = Path.Combine(ModulesDirectory, "Pester", PesterVersion);
        if (File.Exists(Path.Combine(target, "Pester.psd1")))
        {
            return ModulesDirectory;
        }

        var source = typeof(RealPowerShell).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(static a => a.Key == "PesterModule")?.Value;
        if (source is null || !File.Exists(Path.Combine(source, "Pester.psd1")))
        {
            throw new InvalidOperationException(
                $"Pester {PesterVersion} was not found at '{source}': restore tests/AuditOrleans.PowerShell.Tests (its PackageDownload of Pester) again.");
        }

        var staging = target + ".tmp-" + Guid.NewGuid().ToString("N");
        CopyDirectory(source, staging);
        try
        {
            Directory.Move(staging, target);
        }
        catch (IOException) when (File.Exists(Path.Combine(target, "Pester.psd1")))
        {
            // Another run copied it first.
            Directory.Delete(staging, recursive: true);
        }

        return ModulesDirectory;
    }

    /// <summary>Runs a process to its end (or kills it after <paramref name="timeout"/>), with stdout and stderr interleaved.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string?>? environment, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        info.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.Append(e.Data).Append('\n');
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.Append(e.Data).Append('\n');
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            lock (output)
            {
                output.Append(System.Globalization.CultureInfo.InvariantCulture, $"\n[killed after {timeout.TotalSeconds:0} s]\n");
            }

            return (-1, Text());
        }

        process.WaitForExit();
        return (process.ExitCode, Text());

        string Text()
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    private static async Task<bool> ReportsVersionAsync(string pwsh, CancellationToken cancellationToken)
    {
        var run = await RunAsync(pwsh, ["-NoLogo", "-NoProfile", "-NonInteractive", "-Command", "$PSVersionTable.PSVersion.ToString()"], ToolsDirectory, null, TimeSpan.FromMinutes(2), cancellationToken);
        return run.ExitCode == 0 && run.Output.Trim() == Version;
    }

    private static async Task<FileStream> LockAsync(string path, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, cancellationToken);
            }
        }
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
    }
}
