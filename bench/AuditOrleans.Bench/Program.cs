using System.Diagnostics;
using AuditOrleans.Bench;

const string Usage = "usage: dotnet run -c Release --project bench/AuditOrleans.Bench -- [--quick] [--json FILE] [--only ingest,detector,detect,loaded,memory,query,postgres,console,rules] [--console-events N] [--query-events N] [--ingest-rounds N] [--loaded-rate EVENTS-PER-S]";
var quick = false;
string? jsonPath = null;
HashSet<string>? only = null;
string[] phases = ["ingest", "detector", "detect", "loaded", "memory", "query", "postgres", "console", "rules"];
int? consoleEvents = null;
int? queryEvents = null;
int? ingestRounds = null;
double? loadedRate = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--quick":
            quick = true;
            break;
        case "--json" when i + 1 < args.Length:
            jsonPath = args[++i];
            break;
        case "--only" when i + 1 < args.Length:
            only = [.. args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
            if (only.Except(phases).FirstOrDefault() is { } unknown)
            {
                Console.Error.WriteLine($"--only: '{unknown}' is not a phase; use any of {string.Join(", ", phases)}.");
                return 2;
            }

            break;
        case "--console-events" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n >= 1000:
            consoleEvents = n;
            i++;
            break;
        case "--query-events" when i + 1 < args.Length && int.TryParse(args[i + 1], out var q) && q >= 3000:
            queryEvents = q;
            i++;
            break;
        case "--ingest-rounds" when i + 1 < args.Length && int.TryParse(args[i + 1], out var r) && r >= 1:
            ingestRounds = r;
            i++;
            break;
        case "--loaded-rate":
            if (i + 1 >= args.Length || !double.TryParse(args[i + 1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var rate)
                || !double.IsFinite(rate) || rate < 100)
            {
                Console.Error.WriteLine($"--loaded-rate: give the background of the loaded phase in events/s, at least 100 (e.g. --loaded-rate 8000); got '{(i + 1 < args.Length ? args[i + 1] : "nothing")}'.");
                return 2;
            }

            loadedRate = rate;
            i++;
            break;
        case "-h" or "--help":
            Console.WriteLine(Usage);
            return 0;
        default:
            Console.Error.WriteLine($"Unknown or incomplete argument '{args[i]}'.");
            Console.Error.WriteLine(Usage);
            return 2;
    }
}

#if DEBUG
Console.Error.WriteLine("warning: this is a Debug build; figures are only meaningful with -c Release.");
#endif

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var settings = Settings.For(quick);
if (consoleEvents is { } events)
{
    settings = settings with { ConsoleEvents = events };
}

if (ingestRounds is { } rounds)
{
    settings = settings with { IngestRounds = rounds };
}

if (queryEvents is { } queried)
{
    settings = settings with { QueryEvents = queried };
}

if (loadedRate is { } paced)
{
    settings = settings with { LoadedRate = paced };
}

var report = new Report(settings);
var startedAt = DateTimeOffset.UtcNow;
var total = Stopwatch.StartNew();
var directory = Path.Combine(Path.GetTempPath(), $"auditorleans-bench-{Guid.NewGuid():N}");
bool Runs(string phase) => only is null || only.Contains(phase);
Console.WriteLine($"AuditOrleans bench ({(quick ? "--quick" : "full")}) on {Report.Machine()}; work directory {directory}");
try
{
    await using var smtp = new BenchSmtpServer();
    await using (var host = await BenchHost.StartAsync(
        directory,
        o =>
        {
            o.Smtp.Host = "127.0.0.1";
            o.Smtp.Port = smtp.Port;
            o.Smtp.Security = AuditOrleans.Grains.SmtpSecurity.None;
        },
        cancel.Token))
    {
        if (Runs("ingest"))
        {
            Console.WriteLine($"ingest... ({total.Elapsed.TotalSeconds:0} s)");
            await new IngestBench(host, settings, Console.Out).RunAsync(report, cancel.Token);
        }

        if (Runs("detector"))
        {
            Console.WriteLine($"detector... ({total.Elapsed.TotalSeconds:0} s)");
            new DetectorBench(settings, Console.Out).Run(report);
        }

        if (Runs("detect"))
        {
            Console.WriteLine($"detect... ({total.Elapsed.TotalSeconds:0} s)");
            await new DetectLatencyBench(host, smtp, settings, Console.Out).RunAsync(report, cancel.Token);
        }

        if (Runs("loaded"))
        {
            Console.WriteLine($"loaded... ({total.Elapsed.TotalSeconds:0} s)");
            await new LoadedDetectBench(host, smtp, settings, Console.Out).RunAsync(report, cancel.Token);
        }

        if (Runs("memory"))
        {
            Console.WriteLine($"memory... ({total.Elapsed.TotalSeconds:0} s)");
            await new MemoryBench(host, settings, Console.Out).RunAsync(report, cancel.Token);
        }

        if (Runs("rules"))
        {
            Console.WriteLine($"rules... ({total.Elapsed.TotalSeconds:0} s)");
            await new RulesBench(host, settings, Console.Out).RunAsync(report, cancel.Token);
        }
    }

    if (Runs("query"))
    {
        // Its own silo on its own SQLite file holding the large log.
        Console.WriteLine($"query... ({total.Elapsed.TotalSeconds:0} s)");
        var queryDirectory = Path.Combine(directory, "query");
        Directory.CreateDirectory(queryDirectory);
        await new QueryBench(settings, Console.Out).RunAsync(
            "query", "query on SQLite", queryDirectory,
            new AuditOrleans.Grains.StorageOptions { ConnectionString = $"Data Source={Path.Combine(queryDirectory, "auditorleans.db")}" }, report, cancel.Token);
    }

    if (Runs("postgres"))
    {
        if (AuditOrleans.Testing.PostgresServer.UnavailableReason is { } problem)
        {
            Console.WriteLine($"postgres: skipped ({problem})");
            report.Note("postgres", $"skipped: {problem}");
        }
        else
        {
            Console.WriteLine($"postgres... ({total.Elapsed.TotalSeconds:0} s)");
            await using var server = await AuditOrleans.Testing.PostgresServer.StartAsync(cancel.Token);
            await new PostgresIngestBench(server, settings, Console.Out).RunAsync(Path.Combine(directory, "postgres"), report, cancel.Token);
            Console.WriteLine($"query_pg... ({total.Elapsed.TotalSeconds:0} s)");
            await new QueryBench(settings, Console.Out).RunAsync(
                "query_pg", "query on PostgreSQL", Path.Combine(directory, "query-pg"),
                new AuditOrleans.Grains.StorageOptions { Provider = AuditOrleans.Grains.StorageProvider.PostgreSql, ConnectionString = await server.CreateDatabaseAsync("query", cancel.Token) },
                report, cancel.Token);
        }
    }

    if (Runs("console"))
    {
        // Its own silo (with the web console) on its own database, after the others are done.
        Console.WriteLine($"console... ({total.Elapsed.TotalSeconds:0} s)");
        await new ConsoleBench(settings, Console.Out).RunAsync(Path.Combine(directory, "console"), report, cancel.Token);
    }

    total.Stop();
    Console.WriteLine();
    Console.Write(report.Table(total.Elapsed, startedAt));
    if (jsonPath is not null)
    {
        var full = Path.GetFullPath(jsonPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        await File.WriteAllTextAsync(full, report.Json(total.Elapsed, startedAt));
        Console.WriteLine($"JSON written to {full}");
    }

    return 0;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine("Cancelled.");
    return 130;
}
finally
{
    try
    {
        Directory.Delete(directory, recursive: true);
    }
    catch (IOException)
    {
    }
}
