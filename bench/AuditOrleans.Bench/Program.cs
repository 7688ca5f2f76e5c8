using System.Diagnostics;
using AuditOrleans.Bench;

const string Usage = "usage: dotnet run -c Release --project bench/AuditOrleans.Bench -- [--quick] [--json FILE] [--only ingest,detector,memory,detect,console,rules] [--console-events N]";
var quick = false;
string? jsonPath = null;
HashSet<string>? only = null;
string[] phases = ["ingest", "detector", "memory", "detect", "console", "rules"];
int? consoleEvents = null;
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

    if (Runs("console"))
    {
        // Its own silo (with the web console) on its own database, after the others are done.
        Console.WriteLine($"console... ({total.Elapsed.TotalSeconds:0} s)");
        await new ConsoleBench(settings, Console.Out).RunAsync(Path.Combine(directory, "console"), report, cancel.Token);
    }

    total.Stop();
    Console.WriteLine();
    Console.Write(report.Table(total.Elapsed));
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
