namespace AuditOrleans.Testing;

/// <summary>Builds the events the tests send: a 403, an API key call, a plain successful call.</summary>
public static class EventFactory
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

    public static AuditEvent ApiKey(
        string projectId, DateTimeOffset at, string method, int status, string product = "iam", string region = "fr-par",
        string principal = "admin-7", string ip = "203.0.113.9", string keyId = "SCWABCDEFGHIJKLMNOPQ") => new()
    {
        Id = Guid.NewGuid().ToString(),
        RecordedAt = at,
        Locality = region,
        ProjectId = projectId,
        PrincipalId = principal,
        SourceIp = ip,
        ProductName = product,
        ServiceName = "scaleway.iam.v1alpha1.Api",
        MethodName = method,
        StatusCode = status,
        Resources = [new AuditResource { Id = keyId, Type = "iam_api_key" }],
    };

    /// <summary>A successful CreateServer on <paramref name="resourceId"/>.</summary>
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
}
