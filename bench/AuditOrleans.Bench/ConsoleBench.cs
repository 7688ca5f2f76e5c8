using System.Diagnostics;
using AuditOrleans.Grains;
using AuditOrleans.Grains.AuditLog;
using AuditOrleans.Grains.Storage;
using AuditOrleans.Silo;
using AuditOrleans.Silo.WebConsole;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Bench;

/// <summary>
/// The web console's page times with a large log: one project holding
/// <see cref="Settings.ConsoleEvents"/> events over 7 days in three regions (written straight
/// into a fresh SQLite file with their hash chains, as the engine would have), a real firing
/// on top, then the silo with its console in this process, and each page fetched over HTTP
/// (the whole response read) several times. The figure is the median; p95 is in the JSON.
/// </summary>
public sealed class ConsoleBench(Settings settings, TextWriter log)
{
    private const string Project = "console-bench";
    private const int Runs = 7;

    public async Task RunAsync(string directory, Report report, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var databasePath = Path.Combine(directory, "auditorleans.db");
        var now = DateTimeOffset.UtcNow;
        var load = Stopwatch.StartNew();
        await LoadAsync(databasePath, now, cancellationToken);
        log.WriteLine($"  console: {settings.ConsoleEvents:N0} events written in {load.Elapsed.TotalSeconds:0.0} s");

        var port = BenchHost.FreePort();
        var options = new AuditOrleansOptions
        {
            DataDirectory = directory,
            Storage = { ConnectionString = $"Data Source={databasePath}" },
            Cluster = { SiloPort = BenchHost.FreePort(), GatewayPort = BenchHost.FreePort(), ClusterId = "auditorleans-bench-console", ServiceId = "auditorleans-bench-console" },
            Smtp = { PickupDirectory = Path.Combine(directory, "outbox") },
            Security = { Enabled = false },
            Retention = { Days = 0 },
        };
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.UseOrleans(s => s.ConfigureAuditOrleans(options));
        builder.Services.AddAuditConsole();
        await using var app = builder.Build();
        app.MapAuditConsole(options);
        await app.StartAsync(cancellationToken);
        try
        {
            // A real firing: the alert on, a burst of 403 received now.
            var grains = app.Services.GetRequiredService<IGrainFactory>();
            await grains.GetGrain<IAlertConfigGrain>(Scope.Key(Project, "fr-par")).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });
            var workload = new Workload(11);
            var burst = Enumerable.Range(0, 25).Select(i => workload.Event(Project, "fr-par", now.AddSeconds(-60 + i), 403) with { PrincipalId = "attacker", SourceIp = "192.0.2.66" }).ToList();
            await grains.GetGrain<IIngestGrain>(0).IngestAsync(Project, burst);
            var firing = (await grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = Project, Limit = 1 })).Single();

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(5) };
            var week = Uri.EscapeDataString(AuditEventJson.FormatTime(now.AddDays(-7)));
            var day = Uri.EscapeDataString(AuditEventJson.FormatTime(now.AddDays(-1)));
            var pages = new (string Key, string Label, string Path)[]
            {
                ("overview", "Overview (charts over 24 h and 7 days, top principals and IPs)", $"/?project_id={Project}"),
                ("audit_trail", "Audit Trail, default (last hour, 50 events)", $"/audit-trail?project_id={Project}"),
                ("audit_trail_403_week", "Audit Trail, HTTP 403 over 7 days", $"/audit-trail?project_id={Project}&status_code=403&recorded_after={week}"),
                ("audit_trail_4xx_week", "Audit Trail, 4xx class over 7 days", $"/audit-trail?project_id={Project}&status_class=4xx&recorded_after={week}"),
                ("audit_trail_principal_week", "Audit Trail, one principal over 7 days", $"/audit-trail?project_id={Project}&principal=principal-007&recorded_after={week}"),
                ("event_detail", "Event detail (with its chain link checked)", $"/audit-trail/event?project_id={Project}&region=nl-ams&seq={settings.ConsoleEvents / 6}"),
                ("incident", "Incident timeline of the firing", $"/incident?project_id={Project}&firing={firing.Id}"),
                ("incident_day", "Incident timeline over 24 h (busiest sources)", $"/incident?project_id={Project}&from={day}&to={Uri.EscapeDataString(AuditEventJson.FormatTime(now))}"),
                ("annotations_week", "Grafana annotations over 7 days", $"/api/annotations?project_id={Project}&from={now.AddDays(-7).ToUnixTimeMilliseconds()}&to={now.ToUnixTimeMilliseconds()}"),
            };
            foreach (var (key, label, path) in pages)
            {
                var samples = new List<double>();
                for (var run = -1; run < Runs; run++)
                {
                    var stopwatch = Stopwatch.StartNew();
                    using var response = await http.GetAsync(path, cancellationToken);
                    var body = await response.Content.ReadAsStringAsync(cancellationToken);
                    stopwatch.Stop();
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new InvalidOperationException($"{path} answered {(int)response.StatusCode}: {body[..Math.Min(body.Length, 500)]}");
                    }

                    if (run >= 0)
                    {
                        samples.Add(stopwatch.Elapsed.TotalMilliseconds);
                    }
                }

                var median = Stats.Median(samples);
                log.WriteLine($"  console {key}: median {median:0} ms, p95 {Stats.Percentile(samples, 95):0} ms");
                report.Add(new Figure($"console.{key}_ms", $"console: {label}", median, "ms")
                {
                    Target = "median <= 1000 ms",
                    Met = median <= 1000,
                    Samples = samples,
                    Extra = new Dictionary<string, double> { [$"console.{key}_p95_ms"] = Stats.Percentile(samples, 95) },
                });
            }

            // The download of a whole day, streamed page by page.
            var export = Stopwatch.StartNew();
            using (var response = await http.GetAsync($"/audit-trail/export?format=jsonl&project_id={Project}&recorded_after={day}", HttpCompletionOption.ResponseHeadersRead, cancellationToken))
            await using (var stream = await response.Content.ReadAsStreamAsync(cancellationToken))
            {
                using var reader = new StreamReader(stream);
                var lines = 0L;
                while (await reader.ReadLineAsync(cancellationToken) is not null)
                {
                    lines++;
                }

                export.Stop();
                log.WriteLine($"  console export: {lines:N0} events in {export.Elapsed.TotalSeconds:0.0} s");
                report.Add(new Figure("console.export_events_per_s", "console: JSON lines download of 24 h, streamed", lines / export.Elapsed.TotalSeconds, "events/s")
                {
                    Extra = new Dictionary<string, double> { ["console.export_events"] = lines },
                });
            }
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }

        report.Note("console",
            $"one project of {settings.ConsoleEvents:N0} events over 7 days in 3 regions (50 principals, 254 source IPs, 4% HTTP 403, one resource each) " +
            "written with their hash chains into a fresh SQLite file, plus a burst of 25 HTTP 403 ingested through the engine (a real firing); the silo and its " +
            $"console in this process with access control off; each page fetched over HTTP {Runs} times after one warm-up, the whole body read; figure: median.");
    }

    /// <summary>The events, written as the engine writes them (canonical JSON, hash chain per region, resource index).</summary>
    private async Task LoadAsync(string databasePath, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var connectionString = $"Data Source={databasePath};Pooling=False";
        using (var database = new AuditDatabase(Options.Create(new AuditOrleansOptions { Storage = { ConnectionString = connectionString } }), NullLogger<AuditDatabase>.Instance))
        {
            await database.ApplySchemaAsync(cancellationToken);
        }

        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var insert = connection.CreateCommand();
        insert.CommandText =
            "INSERT INTO audit_events (project_id, region, seq, event_id, recorded_at, ingested_at, principal_id, source_ip, product_name, method_name, status_code, payload, prev_hash, hash) " +
            "VALUES (@p, @r, @s, @id, @at, @in, @pr, @ip, @prod, @m, @st, @pl, @ph, @h)";
        var p = new[] { "@p", "@r", "@s", "@id", "@at", "@in", "@pr", "@ip", "@prod", "@m", "@st", "@pl", "@ph", "@h" }
            .ToDictionary(static c => c, c => insert.Parameters.Add(new SqliteParameter { ParameterName = c }), StringComparer.Ordinal);
        await using var resource = connection.CreateCommand();
        resource.CommandText = "INSERT INTO audit_event_resources (project_id, resource_id, region, seq) VALUES (@p, @x, @r, @s)";
        var rp = resource.Parameters.Add(new SqliteParameter { ParameterName = "@p" });
        var rx = resource.Parameters.Add(new SqliteParameter { ParameterName = "@x" });
        var rr = resource.Parameters.Add(new SqliteParameter { ParameterName = "@r" });
        var rs = resource.Parameters.Add(new SqliteParameter { ParameterName = "@s" });

        var workload = new Workload(5);
        var random = new Random(5);
        string[] regions = ["fr-par", "nl-ams", "pl-waw"];
        var heads = regions.ToDictionary(static r => r, static _ => (Sequence: 0L, Hash: HashChain.Genesis), StringComparer.Ordinal);
        var start = now.AddDays(-7).AddMinutes(-5);
        var step = (now.AddMinutes(-5) - start).Ticks / settings.ConsoleEvents;
        const int perTransaction = 20_000;
        for (var done = 0; done < settings.ConsoleEvents; done += perTransaction)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            insert.Transaction = transaction;
            resource.Transaction = transaction;
            for (var i = done; i < Math.Min(done + perTransaction, settings.ConsoleEvents); i++)
            {
                var region = regions[random.Next(regions.Length)];
                var at = start.AddTicks(step * i);
                var e = workload.Event(Project, region, at) with { SourceIp = $"198.51.100.{random.Next(1, 255)}" };
                var head = heads[region];
                var payload = AuditEventJson.Serialize(e);
                var sequence = head.Sequence + 1;
                var hash = HashChain.Compute(Project, region, sequence, head.Hash, payload);
                heads[region] = (sequence, hash);
                p["@p"].Value = Project;
                p["@r"].Value = region;
                p["@s"].Value = sequence;
                p["@id"].Value = e.Id;
                p["@at"].Value = DbTime.ToMicros(at);
                p["@in"].Value = DbTime.ToMicros(at);
                p["@pr"].Value = e.PrincipalId;
                p["@ip"].Value = e.SourceIp;
                p["@prod"].Value = e.ProductName;
                p["@m"].Value = e.MethodName;
                p["@st"].Value = e.StatusCode!.Value;
                p["@pl"].Value = payload;
                p["@ph"].Value = head.Hash;
                p["@h"].Value = hash;
                await insert.ExecuteNonQueryAsync(cancellationToken);
                foreach (var r in e.Resources ?? [])
                {
                    rp.Value = Project;
                    rx.Value = r.Id;
                    rr.Value = region;
                    rs.Value = sequence;
                    await resource.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }
    }
}
