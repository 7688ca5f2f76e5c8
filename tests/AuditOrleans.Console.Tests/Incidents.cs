namespace AuditOrleans.Console.Tests;

/// <summary>
/// A generated attack in a project of its own: ordinary calls, then 25 HTTP 403 from mallory at
/// 192.0.2.66 within two minutes (HttpForbiddenErrorRateHigh fires), then an API key created by
/// mallory (ApiKeyCreated fires), then mallory's calls that work.
/// </summary>
public sealed record Incident(string ProjectId, DateTimeOffset Start, IReadOnlyList<AuditEvent> Before, IReadOnlyList<AuditEvent> Forbidden, AuditEvent KeyCreated, IReadOnlyList<AuditEvent> After, IReadOnlyList<FiredAlert> Firings)
{
    public const string Attacker = "mallory";
    public const string AttackerIp = "192.0.2.66";

    public FiredAlert RateFiring => Firings.Single(static f => f.Alert == AlertName.HttpForbiddenErrorRateHigh);

    public static async Task<Incident> CreateAsync(ConsoleHostFixture fixture, string prefix = "i")
    {
        var project = ConsoleHostFixture.NewProjectId(prefix);
        await fixture.EnableAsync(project, "fr-par", AlertName.HttpForbiddenErrorRateHigh, AlertName.ApiKeyCreated);
        var t = Events.Now().AddMinutes(-20);
        var before = Enumerable.Range(0, 5).Select(i => Events.Call(project, t.AddMinutes(i), principal: "alice", ip: "198.51.100.7")).ToList();
        var forbidden = Enumerable.Range(0, 25).Select(i => Events.Call(project, t.AddMinutes(6).AddSeconds(i * 4), 403, method: "GetSecretVersion", product: "secret-manager", principal: Attacker, ip: AttackerIp)).ToList();
        var created = Events.CreateApiKey(project, t.AddMinutes(9)) with { PrincipalId = Attacker, SourceIp = AttackerIp };
        var after = Enumerable.Range(0, 3).Select(i => Events.Call(project, t.AddMinutes(10 + i), 200, method: "ListSecrets", product: "secret-manager", principal: Attacker, ip: AttackerIp)).ToList();
        await fixture.SendAsync(project, [.. before, .. forbidden, created, .. after]);
        var firings = await fixture.Client.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project });
        return new Incident(project, t, before, forbidden, created, after, firings);
    }
}
