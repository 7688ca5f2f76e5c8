namespace AuditOrleans.Grains.Notifications;

/// <summary>The firings Test-AuditAlert records: realistic sample facts, marked as a test.</summary>
public static class TestAlerts
{
    public const string SamplePrincipal = "11111111-2222-3333-4444-555555555555";

    public const string SampleApiKeyId = "SCWTESTTESTTESTTEST0";

    public static FiredAlert Sample(string projectId, string region, AlertName alert, DateTimeOffset now)
    {
        var definition = AlertCatalog.Get(alert);
        var firing = new FiredAlert
        {
            Id = Guid.CreateVersion7(now).ToString("N"),
            ProjectId = projectId,
            Region = region,
            Alert = alert,
            Severity = definition.Severity,
            TriggeredAt = now,
            EventTime = now,
            WindowStart = now - AlertCatalog.ForbiddenWindow,
            WindowEnd = now,
            IsTest = true,
            Facts = new AlertFacts(),
        };

        if (alert == AlertName.HttpForbiddenErrorRateHigh)
        {
            return firing with
            {
                Facts = new AlertFacts
                {
                    EventId = "00000000-0000-0000-0000-000000000403",
                    ForbiddenCount = AlertCatalog.ForbiddenThreshold + 1,
                    TopPrincipals = [new(SamplePrincipal, 17), new("(anonymous)", 4)],
                    TopSourceIps = [new("203.0.113.10", 17), new("198.51.100.23", 4)],
                    PrincipalId = SamplePrincipal,
                    SourceIp = "203.0.113.10",
                    MethodName = "ListServers",
                    StatusCode = 403,
                },
            };
        }

        var create = alert is AlertName.ApiKeyCreated or AlertName.ApiKeyCreationUnauthorized;
        var refused = alert is AlertName.ApiKeyCreationUnauthorized or AlertName.ApiKeyDeletionUnauthorized;
        return firing with
        {
            WindowStart = now - TimeSpan.FromMinutes(5),
            WindowEnd = now + TimeSpan.FromMinutes(5),
            Facts = new AlertFacts
            {
                EventId = "00000000-0000-0000-0000-0000000000a1",
                ApiKeyId = SampleApiKeyId,
                PrincipalId = SamplePrincipal,
                SourceIp = "203.0.113.10",
                MethodName = create ? "CreateAPIKey" : "DeleteAPIKey",
                StatusCode = refused ? 403 : 200,
                UserAgent = "scaleway-sdk-go/v1.0.0-beta.30 (go1.22; linux; amd64)",
            },
        };
    }
}
