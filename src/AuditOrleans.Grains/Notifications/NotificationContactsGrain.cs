using System.Net.Mail;
using AuditOrleans.Grains.Storage;

namespace AuditOrleans.Grains.Notifications;

/// <summary>Notification contacts of one project, stored in the database next to the outbox that reads them.</summary>
public sealed class NotificationContactsGrain(NotificationStore store, TimeProvider time) : Grain, INotificationContactsGrain
{
    public const int MaxEmailLength = 254;

    private string projectId = "";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        projectId = this.GetPrimaryKeyString();
        if (!Scope.IsValidProjectId(projectId))
        {
            throw new ArgumentException(Scope.DescribeProjectIdRule(projectId));
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<NotificationContact>> GetAsync() => store.GetContactsAsync(projectId);

    public Task<NotificationContact> AddAsync(string email, NotificationType types)
    {
        var address = NormalizeEmail(email);
        const NotificationType all = NotificationType.Security | NotificationType.Incident | NotificationType.Technical | NotificationType.Billing;
        if (types == NotificationType.None || (types & ~all) != 0)
        {
            throw new ArgumentException("Give one or more notification types among Security, Incident, Technical and Billing.");
        }

        return store.UpsertContactAsync(projectId, address, types, time.GetUtcNow());
    }

    public Task<bool> RemoveAsync(string email) => store.DeleteContactAsync(projectId, NormalizeEmail(email));

    /// <summary>Checks an address (a bare addr-spec, no display name) and lower-cases it.</summary>
    public static string NormalizeEmail(string? email)
    {
        var text = email?.Trim() ?? "";
        if (text.Length is 0 or > MaxEmailLength || text.Any(char.IsControl) || !MailAddress.TryCreate(text, out var parsed)
            || !string.Equals(parsed.Address, text, StringComparison.OrdinalIgnoreCase) || !parsed.Host.Contains('.', StringComparison.Ordinal) && parsed.Host != "localhost")
        {
            throw new ArgumentException($"'{Scope.Printable(email)}' is not an email address: give one like security@example.com.");
        }

        return text.ToLowerInvariant();
    }
}
