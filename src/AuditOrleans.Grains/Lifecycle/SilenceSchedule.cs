using System.Collections.Concurrent;
using System.Net;

namespace AuditOrleans.Grains.Lifecycle;

/// <summary>
/// When a silence holds, and which firings it holds (docs/alerts.md, Silences). A weekly window
/// is wall-clock time in its zone: it starts at the local start time of each of its days and
/// ends at that local time plus its duration, each converted to UTC with the zone's rules of
/// that date. A local time that does not exist (the hour skipped when clocks go forward) is
/// read as if the clocks had not changed yet, that is as many minutes after the change
/// (02:30 in Paris on the last Sunday of March is 03:30 CEST); a local time that exists twice
/// (the hour repeated when clocks go back) starts a window at its first occurrence and ends one
/// at its second, so that a window never gets shorter than its wall-clock length.
/// </summary>
public static class SilenceSchedule
{
    private static readonly ConcurrentDictionary<string, TimeZoneInfo> Zones = new(StringComparer.Ordinal);

    /// <summary>The zone of an IANA (or Windows) id; an <see cref="ArgumentException"/> that says what to give otherwise.</summary>
    public static TimeZoneInfo FindZone(string? id)
    {
        var name = id?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 64 || name.Any(char.IsControl))
        {
            throw new ArgumentException($"'{Scope.Printable(id)}' is not a time zone: give an IANA id such as Europe/Paris, America/New_York or UTC.");
        }

        if (Zones.TryGetValue(name, out var cached))
        {
            return cached;
        }

        try
        {
            var zone = TimeZoneInfo.FindSystemTimeZoneById(name);
            Zones.TryAdd(name, zone);
            return zone;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ArgumentException($"'{Scope.Printable(name)}' is not a time zone this silo knows: give an IANA id such as Europe/Paris, America/New_York or UTC.", ex);
        }
    }

    /// <summary>The IANA id to store for a zone id given as IANA or Windows id.</summary>
    public static string CanonicalZoneId(string id)
    {
        var zone = FindZone(id);
        if (zone.HasIanaId)
        {
            return zone.Id;
        }

        return TimeZoneInfo.TryConvertWindowsIdToIanaId(zone.Id, out var iana) ? iana : zone.Id;
    }

    /// <summary>The state of <paramref name="silence"/> at <paramref name="at"/>.</summary>
    public static SilenceState StateAt(AlertSilence silence, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(silence);
        if (silence.EndedAt is { } ended && ended <= at)
        {
            return SilenceState.Ended;
        }

        if (at < silence.StartsAt)
        {
            return SilenceState.Pending;
        }

        if (silence.EndsAt is { } end && at >= end)
        {
            return SilenceState.Expired;
        }

        return silence.Weekly is { } weekly && !InWindow(weekly, at) ? SilenceState.Waiting : SilenceState.Active;
    }

    /// <summary>When the state of <paramref name="silence"/> changes after <paramref name="at"/>; null when it never does.</summary>
    public static DateTimeOffset? NextChange(AlertSilence silence, DateTimeOffset at)
    {
        var state = StateAt(silence, at);
        switch (state)
        {
            case SilenceState.Ended or SilenceState.Expired:
                return null;
            case SilenceState.Pending:
                return silence.StartsAt;
        }

        DateTimeOffset? next = silence.EndsAt;
        if (silence.Weekly is { } weekly && NextBoundary(weekly, at) is { } boundary && (next is null || boundary < next))
        {
            next = boundary;
        }

        return next;
    }

    /// <summary>True when <paramref name="at"/> lies in one of the schedule's windows: [start, end).</summary>
    public static bool InWindow(WeeklyWindow weekly, DateTimeOffset at) =>
        Windows(weekly, at, at).Any(w => w.Start <= at && at < w.End);

    /// <summary>The windows of the schedule that overlap [<paramref name="from"/>, <paramref name="to"/>], in order of start.</summary>
    public static IEnumerable<(DateTimeOffset Start, DateTimeOffset End)> Windows(WeeklyWindow weekly, DateTimeOffset from, DateTimeOffset to)
    {
        ArgumentNullException.ThrowIfNull(weekly);
        var zone = FindZone(weekly.TimeZone);
        var first = TimeZoneInfo.ConvertTime(from, zone).Date.AddDays(-Math.Ceiling(weekly.Duration.TotalDays) - 1);
        var last = TimeZoneInfo.ConvertTime(to, zone).Date.AddDays(1);
        for (var day = first; day <= last; day = day.AddDays(1))
        {
            if (!weekly.Days.Contains(day.DayOfWeek))
            {
                continue;
            }

            var localStart = DateTime.SpecifyKind(day + weekly.StartTime, DateTimeKind.Unspecified);
            var start = ToInstant(zone, localStart, earliest: true);
            var end = ToInstant(zone, localStart + weekly.Duration, earliest: false);
            if (end > from && start <= to)
            {
                yield return (start, end);
            }
        }
    }

    /// <summary>
    /// The instant of a local time in a zone: a skipped local time as if the clocks had not
    /// changed yet; a repeated one at its first (<paramref name="earliest"/>) or second occurrence.
    /// </summary>
    public static DateTimeOffset ToInstant(TimeZoneInfo zone, DateTime local, bool earliest)
    {
        ArgumentNullException.ThrowIfNull(zone);
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        TimeSpan offset;
        if (zone.IsAmbiguousTime(local))
        {
            var offsets = zone.GetAmbiguousTimeOffsets(local);
            offset = earliest ? offsets.Max() : offsets.Min();
        }
        else if (zone.IsInvalidTime(local))
        {
            // The offset in force before the change: clocks go forward, so it is the smaller one.
            offset = new[] { zone.GetUtcOffset(local.AddDays(-1)), zone.GetUtcOffset(local.AddDays(1)) }.Min();
        }
        else
        {
            offset = zone.GetUtcOffset(local);
        }

        return new DateTimeOffset(local.Ticks - offset.Ticks, TimeSpan.Zero);
    }

    /// <summary>
    /// True when <paramref name="silence"/> holds <paramref name="firing"/>: same alert (or rule), its
    /// region (or every region), its principal and source IP when it names them, and in force at
    /// the firing's time. For HttpForbiddenErrorRateHigh a principal or source IP holds only
    /// when every 403 counted in the window came from it (it is the only one among the top), so
    /// that silencing a known scanner never hides another attacker.
    /// </summary>
    public static bool Holds(AlertSilence silence, FiredAlert firing)
    {
        ArgumentNullException.ThrowIfNull(silence);
        ArgumentNullException.ThrowIfNull(firing);
        if (silence.ProjectId != firing.ProjectId || !HoldsAlert(silence, firing)
            || (silence.Region is not null && silence.Region != firing.Region))
        {
            return false;
        }

        var facts = firing.Facts;
        if (silence.PrincipalId is { } principal && !Matches(principal, facts.PrincipalId, facts.TopPrincipals, firing.Alert, SameText))
        {
            return false;
        }

        if (silence.SourceIp is { } ip && !Matches(ip, facts.SourceIp, facts.TopSourceIps, firing.Alert, SameAddress))
        {
            return false;
        }

        return StateAt(silence, firing.TriggeredAt) == SilenceState.Active;
    }

    /// <summary>
    /// True when the silence names the firing's alert, or the firing is a custom rule's and the
    /// silence names that rule (rule names compare case-insensitively, as rules are looked up).
    /// </summary>
    public static bool HoldsAlert(AlertSilence silence, FiredAlert firing) =>
        silence.Alerts.Contains(firing.Alert)
        || (firing.Alert == AlertName.CustomRule && firing.Facts.Rule is { } rule
            && silence.Rules.Contains(rule.Name, StringComparer.OrdinalIgnoreCase));

    /// <summary>A source IP as stored: the address's canonical text (so 2001:DB8::1 and 2001:db8:0::1 match), else the text trimmed.</summary>
    public static string NormalizeIp(string ip) => IPAddress.TryParse(ip.Trim(), out var address) ? address.ToString() : ip.Trim();

    private static bool Matches(string wanted, string? value, IReadOnlyList<CountedValue> top, AlertName alert, Func<string, string?, bool> same) =>
        alert == AlertName.HttpForbiddenErrorRateHigh && top.Count > 0
            ? top.Count == 1 && same(wanted, top[0].Value)
            : same(wanted, value);

    private static bool SameText(string wanted, string? value) => string.Equals(wanted, value, StringComparison.Ordinal);

    private static bool SameAddress(string wanted, string? value) => value is not null && string.Equals(NormalizeIp(wanted), NormalizeIp(value), StringComparison.OrdinalIgnoreCase);

    private static DateTimeOffset? NextBoundary(WeeklyWindow weekly, DateTimeOffset at)
    {
        var inside = InWindow(weekly, at);
        var horizon = at + TimeSpan.FromDays(8) + weekly.Duration;
        var boundaries = Windows(weekly, at, horizon)
            .SelectMany(static w => new[] { w.Start, w.End })
            .Where(b => b > at)
            .Order();
        foreach (var boundary in boundaries)
        {
            if (InWindow(weekly, boundary) != inside)
            {
                return boundary;
            }
        }

        return null;
    }
}
