namespace AuditOrleans.Grains.Tests;

/// <summary>Builds events for tests.</summary>
internal static class EventFactory
{
    public static AuditEvent Forbidden(string projectId, DateTimeOffset at, string region = "fr-par", string? principal = "user-1", string? ip = "198.51.100.7") => new()
    {
        Id = Guid.NewGuid().ToString(),
        RecordedAt = at,
        Locality = region,
        ProjectId = projectId,
        PrincipalId = principal,
        SourceIp = ip,
        ProductName = "instance",
        ServiceName = "scaleway.instance.v1.Api",
        MethodName = "ListServers",
        StatusCode = 403,
    };

    public static AuditEvent ApiKey(string projectId, DateTimeOffset at, string method, int status, string product = "iam") => new()
    {
        Id = Guid.NewGuid().ToString(),
        RecordedAt = at,
        Locality = "fr-par",
        ProjectId = projectId,
        PrincipalId = "admin-7",
        SourceIp = "203.0.113.9",
        ProductName = product,
        ServiceName = "scaleway.iam.v1alpha1.Api",
        MethodName = method,
        StatusCode = status,
        Resources = [new AuditResource { Id = "SCWABCDEFGHIJKLMNOPQ", Type = "iam_api_key" }],
    };
}
