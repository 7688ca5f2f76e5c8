using AuditOrleans.Grains.Rules;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>The rule engine's parts alone (docs/rules.md): the pre-filter never hides a match, the counting window.</summary>
public sealed class RuleEngineTests
{
    private static readonly AuditEvent[] Events =
    [
        new() { Kind = EventKind.Api, Id = "a", RecordedAt = DateTimeOffset.UnixEpoch, StatusCode = 403, MethodName = "DeleteSecret", PrincipalId = "p-1", SourceIp = "192.0.2.1", ProductName = "secret-manager" },
        new() { Kind = EventKind.Api, Id = "b", RecordedAt = DateTimeOffset.UnixEpoch, StatusCode = 200, MethodName = "CreateServer", PrincipalId = "p-2" },
        new() { Kind = EventKind.Authentication, Id = "c", RecordedAt = DateTimeOffset.UnixEpoch, Result = "failure", FailureReason = "invalid_mfa", SourceIp = "192.0.2.1", CountryCode = "FR" },
        new() { Kind = EventKind.System, Id = "d", RecordedAt = DateTimeOffset.UnixEpoch, SystemKind = "cron", SystemName = "backup" },
    ];

    [Theory]
    [InlineData("event.kind == 'authentication' && event.result == 'failure'", 2)]
    [InlineData("event.status_code == 403 && event.principal.id == 'p-1'", 2)]
    [InlineData("'DeleteSecret' == event.method_name", 1)]
    [InlineData("event.method_name in ['CreateServer', 'DeleteSecret'] && event.status_code in [200, 403]", 2)]
    [InlineData("event.source_ip == '192.0.2.1' && event.country_code == 'FR'", 2)]
    [InlineData("event.kind == 'api' || event.result == 'failure'", 0)]
    [InlineData("event.kind == 'system' ? event.system_kind == 'cron' : false", 0)]
    [InlineData("!(event.kind == 'api') && event.status_code == 0", 1)]
    [InlineData("event.status_code == 403.0", 0)]
    public void ThePreFilterNeverHidesAMatch(string query, int filters)
    {
        var rule = CompiledRule.Compile(query);

        Assert.Equal(filters, rule.Filters.Count);
        foreach (var e in Events)
        {
            var matches = rule.Evaluate(RuleEvent.Variables(e, false), out _);
            Assert.True(!matches || rule.Admits(e), $"{query} matches {e.Id} but the pre-filter refused it");
        }
    }

    [Fact]
    public void TheWindowCountsLateMatchesInsideItAndStartsAgainAfterAFiring()
    {
        var window = new RuleWindow(TimeSpan.FromMinutes(5), 3);
        const long Minute = 60_000_000;

        Assert.False(window.Add(10 * Minute));
        Assert.False(window.Add(2 * Minute));   // late, and more than 5 minutes before the newest: not counted
        Assert.Equal(1, window.Count);
        Assert.False(window.Add(7 * Minute));   // late, inside the window ending at 10
        Assert.True(window.Add(11 * Minute));
        Assert.Equal(0, window.Count);
        Assert.False(window.Add(9 * Minute));   // at or before the firing's newest match: never counts again
        Assert.Equal(0, window.Count);

        var saved = new RuleWindow(TimeSpan.FromMinutes(5), 3);
        saved.Restore(window.Save());
        Assert.False(saved.Add(12 * Minute));
        Assert.False(saved.Add(13 * Minute));
        Assert.True(saved.Add(14 * Minute));
    }
}
