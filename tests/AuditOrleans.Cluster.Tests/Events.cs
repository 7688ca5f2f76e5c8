namespace AuditOrleans.Cluster.Tests;

/// <summary>Builds events for tests.</summary>
internal static class Events
{
    public static AuditEvent Forbidden(string projectId, DateTimeOffset at, string region = "fr-par", string principal = "user-1", string ip = "198.51.100.7") => new()
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

    public static AuditEvent Ok(string projectId, DateTimeOffset at, string resourceId, string region = "fr-par") => new()
    {
        Id = Guid.NewGuid().ToString(),
        RecordedAt = at,
        Locality = region,
        ProjectId = projectId,
        PrincipalId = "admin-7",
        SourceIp = "2001:db8::7",
        ProductName = "instance",
        ServiceName = "scaleway.instance.v1.Api",
        MethodName = "CreateServer",
        StatusCode = 200,
        Resources = [new AuditResource { Id = resourceId, Type = "instance_server", Name = "web-1" }],
    };

    public static AuditEvent ApiKeyCreated(string projectId, DateTimeOffset at) => new()
    {
        Id = Guid.NewGuid().ToString(),
        RecordedAt = at,
        Locality = "fr-par",
        ProjectId = projectId,
        PrincipalId = "admin-7",
        SourceIp = "203.0.113.9",
        ProductName = "iam",
        ServiceName = "scaleway.iam.v1alpha1.Api",
        MethodName = "CreateAPIKey",
        StatusCode = 200,
        Resources = [new AuditResource { Id = "SCWABCDEFGHIJKLMNOPQ", Type = "iam_api_key" }],
    };
}
