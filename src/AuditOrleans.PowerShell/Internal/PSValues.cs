using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Text;
using System.Text.Json;

namespace AuditOrleans.PowerShell.Internal;

/// <summary>
/// Reads event fields from whatever PowerShell hands over: strings from Import-Csv, numbers,
/// dates and PSCustomObjects from ConvertFrom-Json, hashtables typed by hand. Each method throws
/// <see cref="FormatException"/> with a message naming the field when a value cannot be used.
/// </summary>
internal static class PSValues
{
    private const int MaxDepth = 64;

    /// <summary>The value inside a PSObject wrapper (a PSCustomObject stays a PSObject).</summary>
    public static object? Unwrap(object? value) =>
        value is PSObject pso && pso.BaseObject is not PSCustomObject ? pso.BaseObject : value;

    public static string? Text(object? value)
    {
        value = Unwrap(value);
        return value switch
        {
            null => null,
            string s => s.Length == 0 ? null : s,
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString(),
        };
    }

    public static DateTimeOffset? Time(object? value, string field)
    {
        value = Unwrap(value);
        switch (value)
        {
            case null:
                return null;
            case DateTimeOffset dto:
                return dto.ToUniversalTime();
            case DateTime dt:
                return dt.Kind switch
                {
                    DateTimeKind.Local => new DateTimeOffset(dt.ToUniversalTime(), TimeSpan.Zero),
                    _ => new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc), TimeSpan.Zero),
                };
            case string s when string.IsNullOrWhiteSpace(s):
                return null;
            case string s:
                return AuditEventJson.ParseTime(s)
                    ?? throw new FormatException($"{field} '{Scope.Printable(s)}' is not an ISO 8601 timestamp: use a value like 2025-11-20T11:11:24.434Z.");
            default:
                throw new FormatException($"{field} must be a timestamp (a [datetime] or ISO 8601 text), not a {value.GetType().Name}.");
        }
    }

    public static int? Integer(object? value, string field)
    {
        value = Unwrap(value);
        switch (value)
        {
            case null:
                return null;
            case int i:
                return i;
            case long or short or byte or sbyte or ushort or uint or ulong:
                var l = Convert.ToDecimal(value, CultureInfo.InvariantCulture);
                return l is >= int.MinValue and <= int.MaxValue ? (int)l : throw new FormatException($"{field} {l} is out of range.");
            case double or float or decimal:
                var d = Convert.ToDecimal(value, CultureInfo.InvariantCulture);
                return d == decimal.Truncate(d) && d is >= int.MinValue and <= int.MaxValue
                    ? (int)d
                    : throw new FormatException($"{field} {d.ToString(CultureInfo.InvariantCulture)} is not an integer.");
            case string s when string.IsNullOrWhiteSpace(s):
                return null;
            case string s:
                return int.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                    ? n
                    : throw new FormatException($"{field} '{Scope.Printable(s)}' is not an integer.");
            default:
                throw new FormatException($"{field} must be an integer, not a {value.GetType().Name}.");
        }
    }

    /// <summary>The id of a nested principal object ({ id = ... }), or the text itself.</summary>
    public static string? PrincipalId(object? value)
    {
        value = Unwrap(value);
        return value switch
        {
            null => null,
            string s => Text(s),
            PSObject pso => Text(pso.Properties["id"]?.Value),
            IDictionary d => Text(Get(d, "id")),
            _ => throw new FormatException($"principal must be an object with an id, not a {value.GetType().Name}."),
        };
    }

    /// <summary>Resources from objects ({id, type, name, ...}), a list of them, or their JSON text.</summary>
    public static List<AuditResource>? Resources(object? value)
    {
        value = Unwrap(value);
        switch (value)
        {
            case null:
                return null;
            case string s when string.IsNullOrWhiteSpace(s):
                return null;
            case string s:
                JsonDocument document;
                try
                {
                    document = JsonDocument.Parse(s);
                }
                catch (JsonException ex)
                {
                    throw new FormatException($"resources is not JSON ({ex.Message}): give objects with id, type and name, or their JSON array.", ex);
                }
                catch (ArgumentException ex)
                {
                    throw new FormatException($"resources is not valid Unicode text ({ex.Message}).", ex);
                }

                using (document)
                {
                    var root = document.RootElement;
                    try
                    {
                        return root.ValueKind == JsonValueKind.Array
                            ? [.. root.EnumerateArray().Select(AuditEventJson.ResourceFromElement)]
                            : [AuditEventJson.ResourceFromElement(root)];
                    }
                    catch (InvalidOperationException ex)
                    {
                        throw new FormatException($"resources holds text that is not valid Unicode (an escaped unpaired surrogate such as \\ud800): {ex.Message}", ex);
                    }
                }

            case IDictionary or PSObject:
                return [Resource(value)];
            case IEnumerable items:
                return [.. items.Cast<object?>().Select(Resource)];
            default:
                throw new FormatException($"resources must be objects with id, type and name, not a {value.GetType().Name}.");
        }
    }

    /// <summary>JSON text of a value (objects from ConvertFrom-Json, hashtables...); text must already be JSON.</summary>
    public static string? Json(object? value, string field)
    {
        value = Unwrap(value);
        switch (value)
        {
            case null:
                return null;
            case string s when string.IsNullOrWhiteSpace(s):
                return null;
            case string s:
                try
                {
                    using var document = JsonDocument.Parse(s);
                    return document.RootElement.GetRawText();
                }
                catch (JsonException ex)
                {
                    throw new FormatException($"{field} is not JSON ({ex.Message}): give an object or its JSON text.", ex);
                }
                catch (ArgumentException ex)
                {
                    throw new FormatException($"{field} is not valid Unicode text ({ex.Message}).", ex);
                }

            default:
                return Serialize(value);
        }
    }

    public static string Serialize(object? value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, value, 0);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static AuditResource Resource(object? item)
    {
        item = Unwrap(item);
        var members = Members(item) ?? throw new FormatException("Each entry of resources must be an object with id, type and name.");
        var rest = members.Where(static m => m.Name is not ("id" or "type" or "name")).ToList();
        return new AuditResource
        {
            Id = Text(members.FirstOrDefault(static m => m.Name == "id").Value),
            Type = Text(members.FirstOrDefault(static m => m.Name == "type").Value),
            Name = Text(members.FirstOrDefault(static m => m.Name == "name").Value),
            Details = rest.Count == 0 ? null : Serialize(rest.ToDictionary(static m => m.Name, static m => m.Value)),
        };
    }

    /// <summary>Name-value pairs of an object-like value, or null when it is not one.</summary>
    private static List<(string Name, object? Value)>? Members(object? value) => value switch
    {
        PSObject pso => [.. pso.Properties.Where(static p => p.MemberType is PSMemberTypes.NoteProperty or PSMemberTypes.Property)
            .Select(static p => (p.Name, (object?)p.Value))],
        IDictionary d => [.. d.Keys.Cast<object>().Select(k => (Convert.ToString(k, CultureInfo.InvariantCulture) ?? "", d[k]))],
        _ => null,
    };

    private static object? Get(IDictionary d, string key) =>
        d.Keys.Cast<object>().FirstOrDefault(k => string.Equals(Convert.ToString(k, CultureInfo.InvariantCulture), key, StringComparison.OrdinalIgnoreCase)) is { } found ? d[found] : null;

    private static void Write(Utf8JsonWriter w, object? value, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new FormatException($"The value is nested deeper than {MaxDepth} levels.");
        }

        value = Unwrap(value);
        switch (value)
        {
            case null:
                w.WriteNullValue();
                break;
            case string s:
                w.WriteStringValue(s);
                break;
            case char c:
                w.WriteStringValue(c.ToString());
                break;
            case bool b:
                w.WriteBooleanValue(b);
                break;
            case int or long or short or byte or sbyte or ushort or uint or ulong or decimal:
                w.WriteRawValue(Convert.ToString(value, CultureInfo.InvariantCulture)!);
                break;
            case double or float:
                var d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (double.IsFinite(d))
                {
                    w.WriteNumberValue(d);
                }
                else
                {
                    w.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
                }

                break;
            case DateTime or DateTimeOffset:
                var time = Time(value, "value")!.Value;
                w.WriteStringValue(time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
                break;
            case Enum or Guid:
                w.WriteStringValue(value.ToString());
                break;
            case PSObject or IDictionary:
                w.WriteStartObject();
                foreach (var (name, member) in Members(value)!)
                {
                    w.WritePropertyName(name);
                    Write(w, member, depth + 1);
                }

                w.WriteEndObject();
                break;
            case IEnumerable items:
                w.WriteStartArray();
                foreach (var item in items)
                {
                    Write(w, item, depth + 1);
                }

                w.WriteEndArray();
                break;
            default:
                w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }
}
