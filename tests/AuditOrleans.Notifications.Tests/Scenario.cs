using AuditOrleans.Testing;

namespace AuditOrleans.Notifications.Tests;

/// <summary>Steps the notification tests share: contacts, alerts, events, history.</summary>
internal sealed class Scenario(AuditClusterFixture fixture, string? projectId = null)
{
    public string ProjectId { get; } = projectId ?? AuditClusterFixture.NewProjectId("n");

    public string Region { get; init; } = "fr-par";

    public IGrainFactory Grains => fixture.Grains;

    public async Task AddContactAsync(string email, NotificationType types = NotificationType.Security) =>
        await Grains.GetGrain<INotificationContactsGrain>(ProjectId).AddAsync(email, types);

    public async Task EnableAsync(params AlertName[] alerts) =>
        await Grains.GetGrain<IAlertConfigGrain>(Scope.Key(ProjectId, Region)).SetActiveAsync(alerts.ToDictionary(static a => a, static _ => true));

    public Task<IngestResult> SendAsync(params AuditEvent[] events) => Grains.GetGrain<IIngestGrain>(0).IngestAsync(ProjectId, events);

    public async Task<IReadOnlyList<FiredAlert>> HistoryAsync() =>
        await Grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = ProjectId });

    /// <summary>
    /// Polls the history until the single firing satisfies the condition (deliveries are recorded
    /// asynchronously). The default bound is generous: it only matters when something is broken,
    /// and a silo restart on a loaded shared machine can take many seconds.
    /// </summary>
    public async Task<FiredAlert> WaitForFiringAsync(Func<FiredAlert, bool> condition, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        using var deadline = new CancellationTokenSource(limit);
        FiredAlert? last = null;
        while (!deadline.IsCancellationRequested)
        {
            var history = await HistoryAsync();
            last = history.Count == 1 ? history[0] : null;
            if (last is not null && condition(last))
            {
                return last;
            }

            try
            {
                await Task.Delay(25, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        throw new TimeoutException($"The firing did not reach the expected state within {limit.TotalSeconds} s; last seen: {Describe(last)}.");
    }

    /// <summary>
    /// Returns once the outbox has run a complete delivery round that started after this call
    /// (a Test-AuditAlert round in a project of its own), so that whatever was due has been handled.
    /// </summary>
    public static async Task CompleteRoundAsync(AuditClusterFixture fixture)
    {
        var barrier = new Scenario(fixture, AuditClusterFixture.NewProjectId("barrier"));
        await barrier.AddContactAsync(SmtpClusterFixture.NewAddress("barrier"));
        await fixture.Grains.GetGrain<INotificationGrain>(0).SendTestAsync(barrier.ProjectId, barrier.Region, AlertName.ApiKeyCreated);
    }

    public AuditEvent Forbidden(DateTimeOffset at, string principal = "user-1", string ip = "198.51.100.7") =>
        EventFactory.Forbidden(ProjectId, at, Region, principal, ip);

    public AuditEvent ApiKey(DateTimeOffset at, string method, int status, string principal = "admin-7", string ip = "203.0.113.9", string keyId = "SCWABCDEFGHIJKLMNOPQ") =>
        EventFactory.ApiKey(ProjectId, at, method, status, region: Region, principal: principal, ip: ip, keyId: keyId) with { UserAgent = "scaleway-cli/2.34.0" };

    private static string Describe(FiredAlert? alert) => alert is null
        ? "no single firing"
        : string.Join("; ", alert.Deliveries.Select(static d => $"{d.Recipient} {d.State} attempts={d.Attempts} error={d.LastError}"));
}
