namespace AuditOrleans.PowerShell;

/// <summary>A notification contact of a project; alerts go to the Security ones.</summary>
public sealed class AuditNotificationContact
{
    public required string ProjectId { get; init; }

    public required string Email { get; init; }

    /// <summary>The notification types the contact subscribes to.</summary>
    public required NotificationType[] Type { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    internal static AuditNotificationContact From(NotificationContact c) => new()
    {
        ProjectId = c.ProjectId,
        Email = c.Email,
        Type = [.. Enum.GetValues<NotificationType>().Where(t => t != NotificationType.None && c.Types.HasFlag(t))],
        CreatedAt = c.CreatedAt,
    };
}
