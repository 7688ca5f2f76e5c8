using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace AuditOrleans.Testing;

/// <summary>
/// The real silo host (<c>dotnet AuditOrleans.Silo.dll</c>) as a child process, for tests that
/// need what a test cluster cannot give: separate processes, kill -9, restarts on the same
/// ports. Settings go on the command line as <c>--AuditOrleans:Key=value</c>; start waits for
/// the host's "silo ready" line; all output is captured for diagnostics.
/// </summary>
public sealed partial class SiloProcess : IAsyncDisposable
{
    /// <summary>The line the host logs once it accepts clients.</summary>
    public const string ReadyText = "AuditOrleans silo ready";

    /// <summary>Environment variable that overrides where the silo's dll is found.</summary>
    public const string SiloDllVariable = "AUDITORLEANS_SILO_DLL";

    private const int SigTerm = 15;

    private readonly Lock gate = new();
    private readonly StringBuilder output = new();
    private readonly List<(string Text, int From, TaskCompletionSource Found)> waiters = [];
    private readonly TempDirectory? ownDirectory;
    private Process? process;
    private int runStart;

    /// <param name="name">A short name for diagnostics (e.g. "silo-a").</param>
    /// <param name="settings">AuditOrleans settings without the <c>AuditOrleans:</c> prefix, e.g. <c>["Cluster:GatewayPort"] = "30001"</c>.</param>
    /// <param name="urls">The console's ASP.NET Core URLs; default a free port on 127.0.0.1.</param>
    /// <param name="workingDirectory">The process's current directory (relative paths such as <c>data/</c> resolve there); default a temporary directory deleted on dispose.</param>
    public SiloProcess(string name, IEnumerable<KeyValuePair<string, string>> settings, string? urls = null, string? workingDirectory = null)
    {
        Name = name;
        Settings = settings.ToDictionary(static kv => kv.Key, static kv => kv.Value, StringComparer.OrdinalIgnoreCase);
        Urls = urls ?? string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{FreePort.Next()}");
        if (workingDirectory is null)
        {
            ownDirectory = new TempDirectory("auditorleans-silo");
            workingDirectory = ownDirectory.Path;
        }

        WorkingDirectory = workingDirectory;
    }

    /// <summary>
    /// A silo of a cluster on PostgreSQL (ADO.NET storage and membership, advertised on
    /// 127.0.0.1) with its own data directory; callers add what their test needs (SMTP, security).
    /// </summary>
    public static SiloProcess PostgresClusterMember(
        string name, string connectionString, string clusterId, string serviceId, int siloPort, int gatewayPort, string checkpointKey)
    {
        var silo = new SiloProcess(name, []);
        silo.Settings["Storage:Provider"] = "PostgreSql";
        silo.Settings["Storage:ConnectionString"] = connectionString;
        silo.Settings["Cluster:Mode"] = "AdoNet";
        silo.Settings["Cluster:ClusterId"] = clusterId;
        silo.Settings["Cluster:ServiceId"] = serviceId;
        silo.Settings["Cluster:AdvertisedIPAddress"] = "127.0.0.1";
        silo.Settings["Cluster:SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
        silo.Settings["Cluster:GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture);
        silo.Settings["CheckpointKey"] = checkpointKey;
        silo.Settings["DataDirectory"] = Path.Combine(silo.WorkingDirectory, "data");
        return silo;
    }

    public string Name { get; }

    /// <summary>The settings passed at each start (changes apply at the next start).</summary>
    public Dictionary<string, string> Settings { get; }

    public string Urls { get; }

    /// <summary>
    /// True (default): the silo gets the fixtures' well-known Owner key. False: none, so that at
    /// its first start the silo generates one into data/owner.key, as it does for a user.
    /// </summary>
    public bool UseFixtureOwnerKey { get; set; } = true;

    public string WorkingDirectory { get; }

    /// <summary>
    /// A umask for the process (octal, e.g. "022"), set by starting it through <c>sh -c</c>;
    /// null to inherit the test process's. Unix only.
    /// </summary>
    public string? Umask { get; init; }

    /// <summary>The path of AuditOrleans.Silo.dll that is started.</summary>
    public static string SiloDllPath => LocateSiloDll();

    public int? ProcessId
    {
        get
        {
            lock (gate)
            {
                return process is { HasExited: false } p ? p.Id : null;
            }
        }
    }

    public bool IsRunning
    {
        get
        {
            lock (gate)
            {
                return process is { HasExited: false };
            }
        }
    }

    /// <summary>Everything the process wrote to stdout and stderr, over all its runs.</summary>
    public string Output
    {
        get
        {
            lock (gate)
            {
                return output.ToString();
            }
        }
    }

    /// <summary>Starts the process and waits for <see cref="ReadyText"/>; throws with the output when it exits or times out first.</summary>
    public async Task StartAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        Process started;
        int from;
        lock (gate)
        {
            if (process is { HasExited: false })
            {
                throw new InvalidOperationException($"{Name} is already running (pid {process.Id}).");
            }

            process?.Dispose();
            output.Append(CultureInfo.InvariantCulture, $"---- {Name} start at {DateTimeOffset.UtcNow:O} ----\n");
            from = runStart = output.Length;
            started = process = new Process { StartInfo = CreateStartInfo(), EnableRaisingEvents = true };
        }

        started.OutputDataReceived += (_, e) => Append(e.Data);
        started.ErrorDataReceived += (_, e) => Append(e.Data);
        if (!started.Start())
        {
            throw new InvalidOperationException($"Could not start {Name}.");
        }

        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        await WaitForOutputCoreAsync(ReadyText, from, started, timeout ?? TimeSpan.FromSeconds(60), cancellationToken);
    }

    /// <summary>Waits until the current run has written <paramref name="text"/> (ordinal, case-sensitive).</summary>
    public Task WaitForOutputAsync(string text, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Process current;
        int from;
        lock (gate)
        {
            current = process ?? throw new InvalidOperationException($"{Name} was never started.");
            from = runStart;
        }

        return WaitForOutputCoreAsync(text, from, current, timeout, cancellationToken);
    }

    /// <summary>kill -9: the process dies at once, without any shutdown.</summary>
    public async Task KillAsync()
    {
        var current = CurrentProcess();
        if (current is null)
        {
            return;
        }

        try
        {
            current.Kill(entireProcessTree: false); // SIGKILL on Unix
        }
        catch (InvalidOperationException)
        {
            // It had already exited.
        }

        await current.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then waits for a clean exit; kills it and throws when it does not exit in time. Returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        var current = CurrentProcess();
        if (current is null)
        {
            return 0;
        }

        if (!current.HasExited && NativeMethods.Kill(current.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"Could not send SIGTERM to {Name} (pid {current.Id}): errno {Marshal.GetLastPInvokeError()}.");
        }

        using var wait = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await current.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            current.Kill(entireProcessTree: false);
            await current.WaitForExitAsync();
            throw new TimeoutException($"{Name} did not stop within {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds:0} s of SIGTERM; it was killed.\n{Output}");
        }

        // Let the asynchronous readers drain the last lines.
        current.WaitForExit();
        return current.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        lock (gate)
        {
            process?.Dispose();
            process = null;
        }

        ownDirectory?.Dispose();
    }

    public override string ToString() => $"{Name} ({Urls})";

    private static string LocateSiloDll()
    {
        if (Environment.GetEnvironmentVariable(SiloDllVariable) is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? configured : throw new FileNotFoundException($"{SiloDllVariable} points to {configured}, which does not exist.");
        }

        // The silo's own build output (it has its deps.json, runtimeconfig.json and appsettings.json),
        // built with the same configuration as the tests (bin/<Configuration>/<tfm>/).
        var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = baseDirectory.Name;
        var configuration = baseDirectory.Parent?.Name ?? "Debug";
        for (var dir = baseDirectory; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AuditOrleans.sln")))
            {
                var candidate = Path.Combine(dir.FullName, "src", "AuditOrleans.Silo", "bin", configuration, tfm, "AuditOrleans.Silo.dll");
                if (File.Exists(candidate))
                {
                    return candidate;
                }

                break;
            }
        }

        var local = Path.Combine(AppContext.BaseDirectory, "AuditOrleans.Silo.dll");
        if (File.Exists(local) && File.Exists(Path.Combine(AppContext.BaseDirectory, "AuditOrleans.Silo.runtimeconfig.json")))
        {
            return local;
        }

        throw new FileNotFoundException($"AuditOrleans.Silo.dll was not found next to the tests or under src/AuditOrleans.Silo/bin/{configuration}/{tfm}: build the solution, or set {SiloDllVariable}.");
    }

    private ProcessStartInfo CreateStartInfo()
    {
        var dll = LocateSiloDll();
        var info = new ProcessStartInfo(Umask is null ? "dotnet" : "/bin/sh")
        {
            WorkingDirectory = WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        if (Umask is not null)
        {
            if (Umask.Length is < 3 or > 4 || !Umask.All(static c => c is >= '0' and <= '7'))
            {
                throw new ArgumentException($"Umask must be octal digits, not '{Umask}'.");
            }

            // exec: the silo replaces the shell, so the process id (and SIGTERM) is the silo's.
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add($"umask {Umask} && exec dotnet \"$@\"");
            info.ArgumentList.Add("sh");
        }

        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(Urls);
        foreach (var (key, value) in Settings)
        {
            info.ArgumentList.Add($"--AuditOrleans:{key}={value}");
        }

        info.Environment.Remove("AuditOrleans__Security__BootstrapApiKey");
        if (UseFixtureOwnerKey && !Settings.ContainsKey("Security:BootstrapApiKey"))
        {
            // Access control is on by default: the fixture's well-known Owner key, in the environment rather than on the command line.
            info.Environment["AuditOrleans__Security__BootstrapApiKey"] = AuditClusterFixture.OwnerApiKey;
        }

        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        // Two cores shared by many: a workstation GC keeps each silo small.
        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment.Remove("ASPNETCORE_URLS");
        return info;
    }

    private Process? CurrentProcess()
    {
        lock (gate)
        {
            return process;
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource>? found = null;
        lock (gate)
        {
            output.Append(line).Append('\n');
            for (var i = waiters.Count - 1; i >= 0; i--)
            {
                var (text, from, tcs) = waiters[i];
                if (Contains(text, from))
                {
                    (found ??= []).Add(tcs);
                    waiters.RemoveAt(i);
                }
            }
        }

        found?.ForEach(static t => t.TrySetResult());
    }

    private bool Contains(string text, int from) =>
        output.Length >= from && output.ToString(from, output.Length - from).Contains(text, StringComparison.Ordinal);

    private async Task WaitForOutputCoreAsync(string text, int from, Process current, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var found = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            if (Contains(text, from))
            {
                return;
            }

            waiters.Add((text, from, found));
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var exited = current.WaitForExitAsync(limit.Token);
        var first = await Task.WhenAny(found.Task, exited, Task.Delay(Timeout.Infinite, limit.Token));
        lock (gate)
        {
            waiters.RemoveAll(w => w.Found == found);
        }

        if (first == found.Task)
        {
            return;
        }

        if (current.HasExited)
        {
            current.WaitForExit();
            throw new InvalidOperationException($"{Name} exited with code {current.ExitCode} before writing '{text}'.\n{Output}");
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new TimeoutException($"{Name} did not write '{text}' within {timeout.TotalSeconds:0} s.\n{Output}");
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static partial int Kill(int pid, int signal);
    }
}
