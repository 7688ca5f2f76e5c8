using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>How the pages show times, long values, status codes and JSON.</summary>
public static class ConsoleFormat
{
    private static readonly JsonWriterOptions Indented = new()
    {
        Indented = true,
        // Relaxed: < > & ' stay as they are, to be read; the text is HTML-encoded (and its invisible
        // characters made visible, Html.Visible) when it is shown, never placed in a script.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = IngestLimits.MaxEventJsonReadDepth + 2,
    };

    /// <summary>A time as people read it: UTC to the millisecond (none when whole seconds) with the offset, e.g. <c>2026-11-23 09:00:05.123 +00:00</c>.</summary>
    public static string Readable(DateTimeOffset value)
    {
        var utc = value.UtcDateTime;
        var text = utc.ToString(utc.Millisecond == 0 ? "yyyy-MM-dd HH:mm:ss" : "yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);
        return text + " +00:00";
    }

    /// <summary>A <c>&lt;time&gt;</c> element: the exact ISO 8601 time for machines, <see cref="Readable"/> for people.</summary>
    public static Html Time(DateTimeOffset value)
    {
        // Date, clock and offset each kept whole when a narrow column wraps the time.
        var text = Readable(value);
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        var offset = text.LastIndexOf(' ');
        return Html.Of($"<time datetime=\"{AuditEventJson.FormatTime(value)}\"><span>{text[..space]}</span> <span>{text[(space + 1)..offset]}</span> <span class=\"offset\">{text[(offset + 1)..]}</span></time>");
    }

    public static Html Time(DateTimeOffset? value) => value is { } v ? Time(v) : Html.Of($"<span class=\"none\">none</span>");

    /// <summary>
    /// The value of a <c>datetime-local</c> input (UTC without an offset, to the millisecond): a lower
    /// bound is rounded down, an upper bound up, so that the range typed back never loses an event.
    /// </summary>
    public static string InputTime(DateTimeOffset value, bool upperBound)
    {
        var ticks = value.UtcTicks;
        var rest = ticks % TimeSpan.TicksPerMillisecond;
        if (rest != 0)
        {
            ticks += upperBound ? TimeSpan.TicksPerMillisecond - rest : -rest;
        }

        var utc = new DateTime(ticks, DateTimeKind.Utc);
        return utc.ToString(utc.Millisecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss" : "yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture);
    }

    /// <summary>At most <paramref name="max"/> text elements of <paramref name="text"/> (never a half surrogate pair), with "…" when it was cut.</summary>
    public static (string Text, bool Cut) Shorten(string text, int max)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length <= max)
        {
            return (text, false);
        }

        var end = 0;
        for (var count = 0; end < text.Length && count < max - 1; count++)
        {
            end += StringInfo.GetNextTextElementLength(text, end);
        }

        return end >= text.Length ? (text, false) : (text[..end] + "…", true);
    }

    /// <summary>A long value shortened, with the whole value as its tooltip; <paramref name="absent"/> in grey when empty.</summary>
    public static Html Short(string? text, int max, string absent = "none")
    {
        if (string.IsNullOrEmpty(text))
        {
            return Html.Of($"<span class=\"none\">{absent}</span>");
        }

        var (shown, cut) = Shorten(text, max);
        return cut ? Html.Of($"<span title=\"{text}\">{shown}</span>") : Html.Of($"{shown}");
    }

    /// <summary>The CSS class of a status code (s2 for 1xx to 3xx, s4, s5).</summary>
    public static string StatusCss(int? status) => status switch
    {
        >= 500 => "s5",
        >= 400 => "s4",
        _ => "s2",
    };

    /// <summary>The class of a status code as people write it (<c>4xx</c>).</summary>
    public static string StatusClass(int? status) => status is >= 100 and <= 599 ? string.Create(CultureInfo.InvariantCulture, $"{status / 100}xx") : "?";

    /// <summary>A status badge: the code, its class in words for screen readers and as a tooltip.</summary>
    public static Html Status(int? status) =>
        Html.Of($"<span class=\"status {StatusCss(status)}\" title=\"{StatusClass(status)}\">{status}</span> <span class=\"status-class\">{StatusClass(status)}</span>");

    /// <summary>A JSON document indented for reading (as stored when it does not parse).</summary>
    public static string PrettyJson(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = IngestLimits.MaxEventJsonReadDepth + 2 });
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer, Indented))
            {
                document.WriteTo(writer);
            }

            return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (JsonException)
        {
            return json;
        }
    }

    /// <summary>A count with thousands separators.</summary>
    public static string Count(long value) => value.ToString("#,0", CultureInfo.InvariantCulture);
}
