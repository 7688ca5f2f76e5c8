namespace AuditOrleans.Console.Tests;

/// <summary>Audit events for the tests, recorded a little before now (the silo runs on the real clock).</summary>
public static class Events
{
    public static AuditEvent Call(
        string projectId,
        DateTimeOffset at,
        int status = 200,
        string method = "ListServers",
        string product = "instance",
        string principal = "user-1",
        string ip = "198.51.100.7",
        string region = "fr-par",
        string? userAgent = "scaleway-cli/2.30",
        IReadOnlyList<AuditResource>? resources = null) => new()
        {
            Id = Guid.NewGuid().ToString("N"),
            RecordedAt = at,
            Locality = region,
            ProjectId = projectId,
            PrincipalId = principal,
            SourceIp = ip,
            UserAgent = userAgent,
            ProductName = product,
            ServiceName = $"scaleway.{product}.v1.Api",
            MethodName = method,
            StatusCode = status,
            Resources = resources,
            RequestId = Guid.NewGuid().ToString(),
        };

    public static AuditEvent CreateApiKey(string projectId, DateTimeOffset at, int status = 200, string region = "fr-par") =>
        Call(projectId, at, status, "CreateAPIKey", "iam", principal: "admin-7", ip: "203.0.113.9", region: region) with
        {
            Resources = [new AuditResource { Id = "SCWABCDEFGHIJKLMNOPQ", Type = "iam_api_key", Name = "ci-key" }],
        };

    /// <summary>Now, truncated to whole seconds so that links and filters read cleanly.</summary>
    public static DateTimeOffset Now()
    {
        var now = DateTimeOffset.UtcNow;
        return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    public static string Iso(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A whole-second time as the Audit Trail's date-time inputs show it (UTC, no offset).</summary>
    public static string Local(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
}
