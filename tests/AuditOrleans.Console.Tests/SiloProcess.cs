using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace AuditOrleans.Console.Tests;

/// <summary>
/// The real silo host (src/AuditOrleans.Silo's build output) started as a process on free
/// loopback ports, with a SQLite file and the pickup directory in a temporary directory.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    public const string ClusterId = "auditorleans-console-tests";

    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SiloProcess(string directory, int httpPort, int siloPort, int gatewayPort, IReadOnlyDictionary<string, string> settings)
    {
        Directory = directory;
        HttpPort = httpPort;
        GatewayPort = gatewayPort;
        var silo = SiloAssemblyPath();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "exec", silo, "--urls", BaseUrl })
        {
            start.ArgumentList.Add(arg);
        }

        // Settings go through the environment, as secrets should (never on a command line).
        var env = new Dictionary<string, string>
        {
            ["AuditOrleans:Storage:ConnectionString"] = $"Data Source={Path.Combine(directory, "auditorleans.db")}",
            ["AuditOrleans:DataDirectory"] = Path.Combine(directory, "data"),
            ["AuditOrleans:Smtp:PickupDirectory"] = PickupDirectory,
            ["AuditOrleans:Cluster:SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AuditOrleans:Cluster:GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AuditOrleans:Cluster:ClusterId"] = ClusterId,
            ["AuditOrleans:Cluster:ServiceId"] = ClusterId,
            ["AuditOrleans:Console:BaseUrl"] = BaseUrl,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:AuditOrleans"] = "Information",
        };
        foreach (var (key, value) in settings)
        {
            env[key] = value;
        }

        foreach (var (key, value) in env)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("The silo process exited before it was ready. Its output:\n" + Output));
    }

    public string Directory { get; }

    public int HttpPort { get; }

    public int GatewayPort { get; }

    public string BaseUrl => $"http://127.0.0.1:{HttpPort}";

    public string PickupDirectory => Path.Combine(Directory, "outbox");

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    /// <summary>Starts a silo and waits for its ready line.</summary>
    public static async Task<SiloProcess> StartAsync(string directory, IReadOnlyDictionary<string, string> settings)
    {
        var ports = FreePorts(3);
        var silo = new SiloProcess(directory, ports[0], ports[1], ports[2], settings);
        silo.process.Start();
        silo.process.BeginOutputReadLine();
        silo.process.BeginErrorReadLine();
        try
        {
            await silo.ready.Task.WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            await silo.DisposeAsync();
            throw new TimeoutException("The silo did not log its ready line within 90 s. Its output:\n" + silo.Output);
        }

        return silo;
    }

    /// <summary>Stops the silo with SIGTERM (as systemd would), then kills it if it lingers.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            _ = Kill(process.Id, 15);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }

        if (line.Contains("AuditOrleans silo ready", StringComparison.Ordinal))
        {
            ready.TrySetResult();
        }
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(static _ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(static l => l.Start());
        var ports = listeners.Select(static l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(static l => l.Stop());
        return ports;
    }

    /// <summary>src/AuditOrleans.Silo/bin/{Configuration}/net10.0/AuditOrleans.Silo.dll of this checkout.</summary>
    private static string SiloAssemblyPath()
    {
        var configuration = typeof(SiloProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AuditOrleans.sln")))
        {
            dir = dir.Parent;
        }

        if (dir is null)
        {
            throw new InvalidOperationException($"AuditOrleans.sln not found above {AppContext.BaseDirectory}: run the tests from the repository.");
        }

        var path = Path.Combine(dir.FullName, "src", "AuditOrleans.Silo", "bin", configuration, "net10.0", "AuditOrleans.Silo.dll");
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} does not exist: build the solution first (dotnet build AuditOrleans.sln -c {configuration}).");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
