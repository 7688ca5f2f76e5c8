using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using AuditOrleans.Grains.Storage;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// The fired_alerts columns as the notification stores read and write them: the column list,
/// the facts' JSON form and the reader of one row (docs/alerts.md, Firings and deliveries).
/// </summary>
internal static class FiredAlertRows
{
    internal static readonly JsonSerializerOptions FactsJson = new(JsonSerializerDefaults.Web);

    /// <summary>The columns <see cref="ReadAlert"/> reads, in its order.</summary>
    internal const string AlertColumns = "id, project_id, region, alert, severity, triggered_at, event_time, window_start, window_end, facts, is_test, kind, episode_id, backfill, late";

    internal const int AlertColumnCount = 15;

    /// <summary><see cref="AlertColumns"/> of the fired_alerts table aliased <c>a</c>.</summary>
    internal static readonly string JoinedAlertColumns = string.Join(", ", AlertColumns.Split(", ").Select(static c => "a." + c));

    /// <summary>The firing in the row, its <see cref="AlertColumns"/> from column <paramref name="o"/> on.</summary>
    internal static FiredAlert ReadAlert(DbDataReader reader, int o) => new()
    {
        Id = reader.GetString(o),
        ProjectId = reader.GetString(o + 1),
        Region = reader.GetString(o + 2),
        Alert = Enum.Parse<AlertName>(reader.GetString(o + 3)),
        Severity = Enum.Parse<AlertSeverity>(reader.GetString(o + 4)),
        TriggeredAt = DbTime.FromMicros(reader.GetInt64(o + 5)),
        EventTime = DbTime.FromMicros(reader.GetInt64(o + 6)),
        WindowStart = DbTime.FromMicros(reader.GetInt64(o + 7)),
        WindowEnd = DbTime.FromMicros(reader.GetInt64(o + 8)),
        Facts = JsonSerializer.Deserialize<AlertFacts>(reader.GetString(o + 9), FactsJson) ?? new AlertFacts(),
        IsTest = Convert.ToInt32(reader.GetValue(o + 10), CultureInfo.InvariantCulture) != 0,
        Kind = (AlertKind)Convert.ToInt32(reader.GetValue(o + 11), CultureInfo.InvariantCulture),
        EpisodeId = reader.IsDBNull(o + 12) ? null : reader.GetString(o + 12),
        IsBackfill = Convert.ToInt32(reader.GetValue(o + 13), CultureInfo.InvariantCulture) != 0,
        IsLate = Convert.ToInt32(reader.GetValue(o + 14), CultureInfo.InvariantCulture) != 0,
    };
}
