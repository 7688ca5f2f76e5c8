using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>
/// A weekly maintenance window in Europe/Paris across the two daylight-saving changes of 2027
/// (the last Sundays of March and October, at 01:00 UTC): the window is wall-clock time in Paris.
/// </summary>
[Collection(DaylightSavingCollection.Name)]
public sealed class DaylightSavingTests(DaylightSavingCollection.Fixture fixture)
{
    [Fact]
    public async Task ASundayWindowFromHalfPastTwoForTwoHoursFollowsParisWallClockOnBothChanges()
    {
        var scenario = new Scenario(fixture);
        var security = SmtpClusterFixture.NewAddress();
        await scenario.AddContactAsync(security);
        await scenario.EnableAsync(AlertName.ApiKeyDeleted);
        var grain = fixture.Grains.GetGrain<IAlertSilenceGrain>(scenario.ProjectId);
        var silence = await grain.CreateAsync(new AlertSilenceRequest
        {
            Alerts = [AlertName.ApiKeyDeleted],
            Weekly = new WeeklyWindow { Days = WeekDays.Sunday, StartTime = new TimeSpan(2, 30, 0), Duration = TimeSpan.FromHours(2), TimeZone = "Europe/Paris" },
            Reason = "Sunday maintenance",
        });

        // 28 March: 02:30 does not exist (02:00 CET becomes 03:00 CEST), so the window opens at
        // 03:30 CEST (01:30 UTC) and closes at 04:30 CEST (02:30 UTC).
        Assert.Equal((SilenceState.Waiting, At(2027, 3, 28, 1, 30)), (silence.State, silence.NextChangeAt!.Value));
        var march = new[] { (At(2027, 3, 28, 1, 20), false), (At(2027, 3, 28, 1, 40), true), (At(2027, 3, 28, 2, 20), true), (At(2027, 3, 28, 2, 40), false) };

        // 31 October: 02:30 happens twice (03:00 CEST becomes 02:00 CET); the window opens at the
        // first (00:30 UTC) and closes at 04:30 CET (03:30 UTC): three hours that night.
        var october = new[] { (At(2027, 10, 31, 0, 20), false), (At(2027, 10, 31, 0, 40), true), (At(2027, 10, 31, 3, 20), true), (At(2027, 10, 31, 3, 40), false) };

        var expectedMails = 0;
        foreach (var (at, held) in march.Concat(october))
        {
            fixture.Clock.SetUtcNow(at);
            var state = (await grain.ListAsync(includeEnded: false))[0].State;
            Assert.Equal(held ? SilenceState.Active : SilenceState.Waiting, state);
            await scenario.SendAsync(scenario.ApiKey(at, "DeleteAPIKey", 200, principal: $"at-{at:yyyyMMddHHmm}"));
            if (!held)
            {
                expectedMails++;
                Assert.Contains($"at-{at:yyyyMMddHHmm}", (await fixture.Smtp.WaitForMessagesAsync(security, expectedMails))[expectedMails - 1].Message.TextBody);
            }
        }

        await Scenario.CompleteRoundAsync(fixture);
        Assert.Equal(4, fixture.Smtp.MessagesTo(security).Count);
        var history = await GroupingTests.HistoryAsync(scenario);
        Assert.Equal(
            march.Concat(october).Where(static e => e.Item2).Select(static e => $"at-{e.Item1:yyyyMMddHHmm}").Order(),
            history.Where(f => f.SilenceId == silence.Id).Select(static f => f.Facts.PrincipalId!).Order());
        Assert.Equal(4, (await grain.ListAsync(includeEnded: false))[0].HeldFirings);
    }

    private static DateTimeOffset At(int year, int month, int day, int hour, int minute) => new(year, month, day, hour, minute, 0, TimeSpan.Zero);
}
