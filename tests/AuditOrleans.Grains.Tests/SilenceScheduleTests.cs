using AuditOrleans.Grains.Lifecycle;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>When silences hold (docs/alerts.md, Silences), with the time given: weekly windows across Paris' daylight-saving changes.</summary>
public sealed class SilenceScheduleTests
{
    private static readonly WeeklyWindow SundayNight = new() { Days = WeekDays.Sunday, StartTime = new TimeSpan(2, 30, 0), Duration = TimeSpan.FromHours(2), TimeZone = "Europe/Paris" };

    private static DateTimeOffset Utc(int month, int day, int hour, int minute) => new(2027, month, day, hour, minute, 0, TimeSpan.Zero);

    private static AlertSilence Silence(WeeklyWindow? weekly = null, DateTimeOffset? starts = null, DateTimeOffset? ends = null) => new()
    {
        Id = new string('a', 32),
        ProjectId = "p",
        Alerts = [AlertName.ApiKeyCreated, AlertName.HttpForbiddenErrorRateHigh],
        StartsAt = starts ?? Utc(1, 1, 0, 0),
        EndsAt = ends,
        Weekly = weekly,
        Reason = "r",
        CreatedBy = "k",
        CreatedAt = Utc(1, 1, 0, 0),
    };

    [Fact]
    public void AnOrdinarySundayIsTwoHoursAtTheZonesOffset()
    {
        // 21 March 2027: CET (UTC+1). 14 November 2027: CET. 4 July 2027: CEST (UTC+2).
        Assert.Equal([(Utc(3, 21, 1, 30), Utc(3, 21, 3, 30))], SilenceSchedule.Windows(SundayNight, Utc(3, 21, 0, 0), Utc(3, 21, 23, 0)));
        Assert.Equal([(Utc(7, 4, 0, 30), Utc(7, 4, 2, 30))], SilenceSchedule.Windows(SundayNight, Utc(7, 4, 0, 0), Utc(7, 4, 23, 0)));
    }

    [Fact]
    public void OnTheSpringChangeASkippedStartOpensAsManyMinutesAfterTheChangeAndTheWindowEndsAtLocalEnd()
    {
        // 28 March 2027, 01:00 UTC: 02:00 CET becomes 03:00 CEST; 02:30 does not exist.
        var window = Assert.Single(SilenceSchedule.Windows(SundayNight, Utc(3, 28, 0, 0), Utc(3, 28, 23, 0)));
        Assert.Equal((Utc(3, 28, 1, 30), Utc(3, 28, 2, 30)), window);
        var silence = Silence(SundayNight);
        Assert.Equal(SilenceState.Waiting, SilenceSchedule.StateAt(silence, Utc(3, 28, 1, 29)));
        Assert.Equal(SilenceState.Active, SilenceSchedule.StateAt(silence, Utc(3, 28, 1, 30)));
        Assert.Equal(SilenceState.Active, SilenceSchedule.StateAt(silence, Utc(3, 28, 2, 29)));
        Assert.Equal(SilenceState.Waiting, SilenceSchedule.StateAt(silence, Utc(3, 28, 2, 30)));
        Assert.Equal(Utc(3, 28, 1, 30), SilenceSchedule.NextChange(silence, Utc(3, 27, 12, 0)));
        Assert.Equal(Utc(3, 28, 2, 30), SilenceSchedule.NextChange(silence, Utc(3, 28, 1, 30)));
        Assert.Equal(Utc(4, 4, 0, 30), SilenceSchedule.NextChange(silence, Utc(3, 28, 2, 30)));
    }

    [Fact]
    public void OnTheAutumnChangeARepeatedStartOpensAtItsFirstOccurrenceAndTheWindowEndsAtLocalEnd()
    {
        // 31 October 2027, 01:00 UTC: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
        Assert.Equal((Utc(10, 31, 0, 30), Utc(10, 31, 3, 30)), Assert.Single(SilenceSchedule.Windows(SundayNight, Utc(10, 31, 0, 0), Utc(10, 31, 23, 0))));
        var silence = Silence(SundayNight);
        Assert.Equal(SilenceState.Waiting, SilenceSchedule.StateAt(silence, Utc(10, 31, 0, 29)));
        Assert.Equal(SilenceState.Active, SilenceSchedule.StateAt(silence, Utc(10, 31, 1, 30)));
        Assert.Equal(SilenceState.Active, SilenceSchedule.StateAt(silence, Utc(10, 31, 3, 29)));
        Assert.Equal(SilenceState.Waiting, SilenceSchedule.StateAt(silence, Utc(10, 31, 3, 30)));

        // The next Sunday is back to two hours at UTC+1.
        Assert.Equal(Utc(11, 7, 1, 30), SilenceSchedule.NextChange(silence, Utc(10, 31, 3, 30)));
    }

    [Fact]
    public void AWindowThatCrossesTheChangeAtNightKeepsItsWallClockEnds()
    {
        // Saturday 23:00 for 6 hours: to 05:00 Sunday, local; five hours of real time in spring, seven in autumn.
        var weekend = SundayNight with { Days = WeekDays.Saturday, StartTime = new TimeSpan(23, 0, 0), Duration = TimeSpan.FromHours(6) };
        Assert.Equal((Utc(3, 27, 22, 0), Utc(3, 28, 3, 0)), Assert.Single(SilenceSchedule.Windows(weekend, Utc(3, 27, 23, 0), Utc(3, 27, 23, 0))));
        Assert.Equal((Utc(10, 30, 21, 0), Utc(10, 31, 4, 0)), Assert.Single(SilenceSchedule.Windows(weekend, Utc(10, 31, 3, 0), Utc(10, 31, 3, 0))));
    }

    [Fact]
    public void OverlappingDailyWindowsHoldWithoutAGapAndTheBoundsOfTheSilenceWin()
    {
        var daily = new WeeklyWindow { Days = (WeekDays)127, StartTime = TimeSpan.FromHours(8), Duration = TimeSpan.FromHours(30), TimeZone = "UTC" };
        var silence = Silence(daily, starts: Utc(6, 1, 0, 0), ends: Utc(6, 10, 0, 0));
        Assert.Equal(SilenceState.Pending, SilenceSchedule.StateAt(silence, Utc(5, 31, 23, 0)));
        Assert.Equal(Utc(6, 1, 0, 0), SilenceSchedule.NextChange(silence, Utc(5, 31, 23, 0)));
        Assert.All(Enumerable.Range(0, 24 * 8), h => Assert.Equal(SilenceState.Active, SilenceSchedule.StateAt(silence, Utc(6, 1, 0, 0).AddHours(h))));
        Assert.Equal(Utc(6, 10, 0, 0), SilenceSchedule.NextChange(silence, Utc(6, 2, 0, 0)));
        Assert.Equal(SilenceState.Expired, SilenceSchedule.StateAt(silence, Utc(6, 10, 0, 0)));
        Assert.Null(SilenceSchedule.NextChange(silence, Utc(6, 10, 0, 0)));
        Assert.Equal(SilenceState.Ended, SilenceSchedule.StateAt(silence with { EndedAt = Utc(6, 5, 0, 0) }, Utc(6, 5, 0, 0)));
    }

    [Fact]
    public void ASourceIpHoldsTheForbiddenRateOnlyWhenItIsTheOnlySource()
    {
        var silence = Silence(ends: Utc(12, 31, 0, 0)) with { SourceIp = "2001:db8::7" };
        var firing = new FiredAlert
        {
            Id = "f",
            ProjectId = "p",
            Region = "fr-par",
            Alert = AlertName.HttpForbiddenErrorRateHigh,
            Severity = AlertSeverity.High,
            TriggeredAt = Utc(6, 1, 0, 0),
            EventTime = Utc(6, 1, 0, 0),
            WindowStart = Utc(6, 1, 0, 0),
            WindowEnd = Utc(6, 1, 0, 0),
            Facts = new AlertFacts { SourceIp = "2001:db8::7", TopSourceIps = [new("2001:DB8:0:0::7", 21)] },
        };
        Assert.True(SilenceSchedule.Holds(silence, firing));
        Assert.False(SilenceSchedule.Holds(silence, firing with { Facts = firing.Facts with { TopSourceIps = [new("2001:db8::7", 20), new("192.0.2.1", 1)] } }));
        Assert.False(SilenceSchedule.Holds(silence with { Region = "nl-ams" }, firing));
        Assert.False(SilenceSchedule.Holds(silence, firing with { Alert = AlertName.ApiKeyDeleted }));
        Assert.True(SilenceSchedule.Holds(silence, firing with { Alert = AlertName.ApiKeyCreated, Facts = new AlertFacts { SourceIp = "2001:db8:0::7" } }));
    }

    [Fact]
    public void ZonesAreIanaIdsAndAnUnknownOneSaysWhatToGive()
    {
        Assert.Equal("Europe/Paris", SilenceSchedule.CanonicalZoneId(" Europe/Paris "));
        Assert.Contains("IANA id such as Europe/Paris", Assert.Throws<ArgumentException>(() => SilenceSchedule.FindZone("Mars/Olympus")).Message);
    }
}
