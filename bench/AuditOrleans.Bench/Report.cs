using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AuditOrleans.Bench;

/// <summary>What a run measures and how long it takes.</summary>
public sealed record Settings(
    bool Quick,
    int IngestRounds,
    int IngestBatches,
    int IngestBatchSize,
    int IngestProjects,
    int DetectTrials,
    int Detectors,
    int DetectorRounds,
    int DetectorEvents)
{
    /// <summary>Events in the project whose console pages are timed.</summary>
    public int ConsoleEvents { get; init; } = 1_000_000;

    /// <summary>Events in the queried project-region (and as many again over 100 projects).</summary>
    public int QueryEvents { get; init; } = 1_000_000;

    /// <summary>Times each query is timed.</summary>
    public int QueryRounds { get; init; } = 20;

    /// <summary>
    /// The background of detect_loaded in events/s (--loaded-rate), to compare runs at one load;
    /// null: half of the rate the loaded phase measures first, as the target is defined.
    /// </summary>
    public double? LoadedRate { get; init; }

    /// <summary>
    /// --quick is the smoke test that runs with the tests (well under a minute on 2 busy cores):
    /// every phase, at sizes that prove the run works, not figures to quote.
    /// </summary>
    public static Settings For(bool quick) => quick
        ? new(true, IngestRounds: 2, IngestBatches: 8, IngestBatchSize: 500, IngestProjects: 8, DetectTrials: 10, Detectors: 3_000, DetectorRounds: 3, DetectorEvents: 200_000)
        {
            ConsoleEvents = 10_000,
            QueryEvents = 10_000,
            QueryRounds = 2,
        }
        : new(false, IngestRounds: 9, IngestBatches: 80, IngestBatchSize: 500, IngestProjects: 20, DetectTrials: 250, Detectors: 100_000, DetectorRounds: 15, DetectorEvents: 4_000_000);
}

/// <summary>One measured figure, with its baseline measured in the same run.</summary>
public sealed record Figure(string Key, string Label, double Value, string Unit)
{
    public string? BaselineKey { get; init; }

    public double? Baseline { get; init; }

    public string? BaselineLabel { get; init; }

    public string? RatioKey { get; init; }

    public double? Ratio { get; init; }

    public string? Target { get; init; }

    public bool? Met { get; init; }

    public IReadOnlyList<double>? Samples { get; init; }

    public IReadOnlyList<double>? BaselineSamples { get; init; }

    /// <summary>Further figures of the same measurement (keys and values), written to the JSON file.</summary>
    public IReadOnlyDictionary<string, double> Extra { get; init; } = new Dictionary<string, double>();
}

public static class Stats
{
    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    /// <summary>Nearest-rank percentile.</summary>
    public static double Percentile(IEnumerable<double> values, double percent)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new InvalidOperationException("No samples.");
        }

        var rank = (int)Math.Ceiling(percent / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>The figures of a run: a console table and a JSON file with the same content.</summary>
public sealed class Report(Settings settings)
{
    private readonly List<Figure> figures = [];
    private readonly Dictionary<string, string> notes = new(StringComparer.Ordinal);

    public IReadOnlyList<Figure> Figures => figures;

    public void Add(Figure figure) => figures.Add(figure);

    public void Note(string topic, string text) => notes[topic] = text;

    public static string Machine()
    {
        var os = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(static l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?["PRETTY_NAME=".Length..].Trim('"')
            : null;
        return $"{Environment.ProcessorCount} cores, {os ?? RuntimeInformation.OSDescription}, .NET {Environment.Version}, {RuntimeInformation.ProcessArchitecture}";
    }

    /// <summary>The figures as a Markdown table (what the README's Performance table is refreshed from), then the run's date, machine and notes.</summary>
    public string Table(TimeSpan duration, DateTimeOffset startedAt)
    {
        var rows = new List<string[]> { new[] { "figure", "value", "baseline", "ratio", "target" } };
        foreach (var f in figures)
        {
            rows.Add(
            [
                f.Key,
                $"{Format(f.Value)} {f.Unit}",
                f.Baseline is { } b ? $"{Format(b)} {f.Unit}" + (f.BaselineLabel is { } l ? $" ({l})" : "") : "",
                f.Ratio is { } r ? r.ToString("0.00", CultureInfo.InvariantCulture) : "",
                f.Target is { } t ? $"{t}: {(f.Met == true ? "met" : "MISSED")}" : "",
            ]);
        }

        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var (row, index) in rows.Select(static (r, i) => (r, i)))
        {
            text.Append("| ").AppendJoin(" | ", row.Select((cell, c) => cell.PadRight(widths[c]))).AppendLine(" |");
            if (index == 0)
            {
                text.Append("| ").AppendJoin(" | ", widths.Select(static w => new string('-', w))).AppendLine(" |");
            }
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"Date: {startedAt:yyyy-MM-dd HH:mm} UTC. Machine: {Machine()}; load average at the end: {LoadAverage()}. Mode: {(settings.Quick ? "--quick" : "full")}. Duration: {duration.TotalSeconds:0} s.");
        foreach (var (topic, note) in notes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {topic}: {note}");
        }

        return text.ToString();
    }

    /// <summary>The 1-minute load average (Linux), so that a table says how busy the machine was; "unknown" elsewhere.</summary>
    public static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    public string Json(TimeSpan duration, DateTimeOffset startedAt)
    {
        var root = new JsonObject();
        foreach (var f in figures)
        {
            root[f.Key] = Round(f.Value);
            if (f.BaselineKey is not null && f.Baseline is { } b)
            {
                root[f.BaselineKey] = Round(b);
            }

            if (f.RatioKey is not null && f.Ratio is { } r)
            {
                root[f.RatioKey] = Math.Round(r, 4);
            }

            foreach (var (key, value) in f.Extra)
            {
                root[key] = Round(value);
            }
        }

        root["run"] = new JsonObject
        {
            ["mode"] = settings.Quick ? "quick" : "full",
            ["started_at"] = startedAt.ToString("O", CultureInfo.InvariantCulture),
            ["duration_s"] = Math.Round(duration.TotalSeconds, 1),
            ["machine"] = Machine(),
            ["load_average"] = LoadAverage(),
            ["detectors"] = settings.Detectors,
            ["detect_trials"] = settings.DetectTrials,
            ["loaded_rate"] = settings.LoadedRate,
        };
        root["figures"] = new JsonArray([.. figures.Select(static f => (JsonNode)new JsonObject
        {
            ["key"] = f.Key,
            ["label"] = f.Label,
            ["value"] = Round(f.Value),
            ["unit"] = f.Unit,
            ["baseline_key"] = f.BaselineKey,
            ["baseline"] = f.Baseline is { } b ? Round(b) : null,
            ["baseline_label"] = f.BaselineLabel,
            ["ratio"] = f.Ratio is { } r ? Math.Round(r, 4) : null,
            ["target"] = f.Target,
            ["met"] = f.Met,
            ["samples"] = f.Samples is { } s ? new JsonArray([.. s.Select(static v => (JsonNode)Round(v))]) : null,
            ["baseline_samples"] = f.BaselineSamples is { } bs ? new JsonArray([.. bs.Select(static v => (JsonNode)Round(v))]) : null,
        })]);
        root["notes"] = new JsonObject([.. notes.Select(static n => KeyValuePair.Create(n.Key, (JsonNode?)n.Value))]);
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static double Round(double value) => Math.Abs(value) >= 100 ? Math.Round(value) : Math.Round(value, 3);

    private static string Format(double value) => Math.Abs(value) >= 100
        ? value.ToString("N0", CultureInfo.InvariantCulture)
        : value.ToString("0.###", CultureInfo.InvariantCulture);
}
