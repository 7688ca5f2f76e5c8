using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace AuditOrleans.Testing;

/// <summary>
/// A throwaway PostgreSQL server for tests: <c>initdb</c> + <c>pg_ctl</c> on a free port of
/// 127.0.0.1, in a temporary directory, stopped and deleted on dispose. The binaries come from
/// <c>/usr/lib/postgresql/*/bin</c>. PostgreSQL refuses to run as root, so when the tests run
/// as root (CI) the server runs as the <c>postgres</c> user through <c>runuser</c>.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>When this variable is <c>1</c>, tests that need PostgreSQL fail instead of skipping.</summary>
    public const string RequireVariable = "AUDITORLEANS_REQUIRE_POSTGRES";

    private const string ServiceUser = "postgres";

    private static readonly Lazy<(string? BinDirectory, string? Problem)> Probe = new(ProbeInstallation);

    private readonly TempDirectory root;
    private readonly bool asServiceUser;
    private int databases;

    private PostgresServer(TempDirectory root, bool asServiceUser, int port)
    {
        this.root = root;
        this.asServiceUser = asServiceUser;
        Port = port;
    }

    /// <summary>True when the environment asks for PostgreSQL tests to be required.</summary>
    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Why no server can be started here, or null when one can.</summary>
    public static string? UnavailableReason => Probe.Value.Problem;

    /// <summary>The directory holding initdb, pg_ctl and postgres, or null.</summary>
    public static string? BinDirectory => Probe.Value.BinDirectory;

    public int Port { get; }

    public string Host => "127.0.0.1";

    /// <summary>The server's log file (for diagnostics when a test fails).</summary>
    public string LogPath => root.Combine("postgres.log");

    private string DataPath => root.Combine("data");

    /// <summary>Starts a server; throws with the reason when PostgreSQL is not installed.</summary>
    public static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default)
    {
        if (UnavailableReason is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        var asServiceUser = Environment.IsPrivilegedProcess;
        // As root the server runs as postgres, which must reach its directory: /tmp is open to
        // every user, a TMPDIR under /root may not be.
        var root = asServiceUser ? new TempDirectory("auditorleans-pg", "/tmp") : new TempDirectory("auditorleans-pg");
        try
        {
            if (asServiceUser)
            {
                await RunAsync("chown", [ServiceUser + ":", root.Path], TimeSpan.FromSeconds(10), cancellationToken);
            }

            var server = new PostgresServer(root, asServiceUser, 0);
            await server.RunToolAsync("initdb", ["-D", server.DataPath, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"], TimeSpan.FromSeconds(60), cancellationToken);

            // A free port can be taken between the probe and the start: try a few.
            Exception? last = null;
            for (var attempt = 0; attempt < 4; attempt++)
            {
                var port = FreePort.Next();
                var started = new PostgresServer(root, asServiceUser, port);
                try
                {
                    await started.RunToolAsync(
                        "pg_ctl",
                        [
                            "-D", started.DataPath, "-l", started.LogPath, "-w", "-t", "60",
                            "-o", string.Create(CultureInfo.InvariantCulture, $"-p {port} -k {root.Path} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"),
                            "start",
                        ],
                        TimeSpan.FromSeconds(90),
                        cancellationToken);
                    return started;
                }
                catch (InvalidOperationException ex)
                {
                    last = ex;
                }
            }

            throw new InvalidOperationException($"PostgreSQL did not start: {last?.Message}\n{ReadLog(root.Combine("postgres.log"))}");
        }
        catch
        {
            root.Dispose();
            throw;
        }
    }

    /// <summary>A connection string to one database of this server.</summary>
    public string ConnectionString(string database) =>
        string.Create(CultureInfo.InvariantCulture, $"Host={Host};Port={Port};Username=postgres;Database={database};Include Error Detail=true");

    /// <summary>Creates a fresh, empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "auditorleans", CancellationToken cancellationToken = default)
    {
        var full = string.Create(CultureInfo.InvariantCulture, $"{prefix}_{Interlocked.Increment(ref databases)}_{Guid.NewGuid():N}").ToLowerInvariant();
        var name = full[..Math.Min(63, full.Length)];
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false"))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE \"{name}\"";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunToolAsync("pg_ctl", ["-D", DataPath, "-m", "immediate", "-w", "stop"], TimeSpan.FromSeconds(30), CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            // Already stopped: nothing to do but remove the files.
        }

        root.Dispose();
    }

    private static (string? BinDirectory, string? Problem) ProbeInstallation()
    {
        const string parent = "/usr/lib/postgresql";
        var bin = Directory.Exists(parent)
            ? Directory.GetDirectories(parent)
                .Select(static d => Path.Combine(d, "bin"))
                .Where(static d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")) && File.Exists(Path.Combine(d, "postgres")))
                .OrderByDescending(static d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        if (bin is null)
        {
            return (null, $"PostgreSQL is not installed (no initdb/pg_ctl/postgres under {parent}/*/bin): install it (apt-get install postgresql) or set {RequireVariable}=1 to make this a failure.");
        }

        if (Environment.IsPrivilegedProcess && !File.ReadLines("/etc/passwd").Any(static l => l.StartsWith(ServiceUser + ":", StringComparison.Ordinal)))
        {
            return (bin, $"The tests run as root and PostgreSQL refuses to: a '{ServiceUser}' user is needed to run the throwaway server (the postgresql package creates it).");
        }

        if (Environment.IsPrivilegedProcess && !File.Exists("/usr/sbin/runuser") && !File.Exists("/sbin/runuser") && !File.Exists("/usr/bin/runuser"))
        {
            return (bin, "The tests run as root and need runuser (util-linux) to start PostgreSQL as the postgres user.");
        }

        return (bin, null);
    }

    private Task RunToolAsync(string tool, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var path = Path.Combine(BinDirectory!, tool);
        return asServiceUser
            ? RunAsync("runuser", ["-u", ServiceUser, "--", path, .. arguments], timeout, cancellationToken)
            : RunAsync(path, arguments, timeout, cancellationToken);
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds:0} s.");
        }

        var output = (await stdout) + (await stderr);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}: {output.Trim()}");
        }
    }

    private static string ReadLog(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : "";
        }
        catch (IOException)
        {
            return "";
        }
    }
}
