using System.Globalization;
using System.Management.Automation;
using System.Text.Json;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>
/// Builds pipeline input as PowerShell's own cmdlets would (the hosted runspace has only the
/// Core cmdlets): JSON as ConvertFrom-Json returns it (PSCustomObjects, object[], long/double,
/// ISO timestamps turned into UTC DateTimes) and rows as Import-Csv returns them (all text).
/// </summary>
public static class PSInput
{
    public static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "data", name);

    public static IReadOnlyList<string> ProviderEventLines() =>
        [.. File.ReadAllLines(DataFile("provider-events.jsonl")).Where(static l => l.Length > 0)];

    /// <summary>What ConvertFrom-Json makes of one JSON document.</summary>
    public static object? FromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Convert(document.RootElement);
    }

    /// <summary>What Import-Csv makes of one row: a PSCustomObject whose properties are all strings.</summary>
    public static PSObject CsvRow(params (string Name, string Value)[] columns)
    {
        var row = new PSObject();
        foreach (var (name, value) in columns)
        {
            row.Properties.Add(new PSNoteProperty(name, value));
        }

        return row;
    }

    /// <summary>Sets (or adds) a property of a PSCustomObject.</summary>
    public static void Set(PSObject target, string name, object? value)
    {
        if (target.Properties[name] is { } property)
        {
            property.Value = value;
        }
        else
        {
            target.Properties.Add(new PSNoteProperty(name, value));
        }
    }

    private static object? Convert(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var o = new PSObject();
                foreach (var p in e.EnumerateObject())
                {
                    o.Properties.Add(new PSNoteProperty(p.Name, Convert(p.Value)));
                }

                return o;
            case JsonValueKind.Array:
                return e.EnumerateArray().Select(Convert).ToArray();
            case JsonValueKind.String:
                var s = e.GetString()!;
                return s.Length >= 20 && s[4] == '-' && s[10] == 'T' && s.EndsWith('Z')
                    && DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
                    ? time
                    : s;
            case JsonValueKind.Number:
                return e.TryGetInt64(out var n) ? n : e.GetDouble();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }
}
