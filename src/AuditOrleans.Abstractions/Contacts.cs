namespace AuditOrleans;

/// <summary>Notification types a contact subscribes to; alerts go to Security only.</summary>
[Flags]
public enum NotificationType
{
    None = 0,
    Security = 1,
    Incident = 2,
    Technical = 4,
    Billing = 8,
}

/// <summary>A notification contact of a project.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.NotificationContact")]
public sealed record NotificationContact(
    [property: Id(0)] string ProjectId,
    [property: Id(1)] string Email,
    [property: Id(2)] NotificationType Types,
    [property: Id(3)] DateTimeOffset CreatedAt);
