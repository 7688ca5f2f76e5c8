using System.Net.Mail;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Notification contacts of one project, stored in the database next to the outbox that reads
/// them: email addresses, and webhook endpoints whose URL is checked before it is stored
/// (docs/security.md, Webhook targets) and whose secret is generated here and returned once.
/// </summary>
public sealed partial class NotificationContactsGrain(
    NotificationContactStore store,
    WebhookStore webhooks,
    WebhookTargetPolicy targets,
    WebhookKeys keys,
    IOptions<AuditOrleansOptions> options,
    TimeProvider time,
    ILogger<NotificationContactsGrain> logger) : Grain, INotificationContactsGrain
{
    public const int MaxEmailLength = 254;

    /// <summary>The longest a new webhook's host name may take to resolve.</summary>
    public static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(10);

    private string projectId = "";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        projectId = GrainKeys.Project(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<NotificationContact>> GetAsync() => store.GetContactsAsync(projectId);

    public Task<NotificationContact> AddAsync(string email, NotificationType types)
    {
        var address = NormalizeEmail(email);
        CheckTypes(types);
        return store.UpsertContactAsync(projectId, address, types, time.GetUtcNow());
    }

    public Task<bool> RemoveAsync(string email) => store.DeleteContactAsync(projectId, NormalizeEmail(email));

    public Task<IReadOnlyList<WebhookContact>> GetWebhooksAsync() => webhooks.GetAsync(projectId, time.GetUtcNow());

    public async Task<WebhookSecretIssued> AddWebhookAsync(string url, WebhookFormat? format, NotificationType types)
    {
        CheckTypes(types);
        if (format is { } given && !Enum.IsDefined(given))
        {
            throw new ArgumentException($"'{format}' is not a webhook format: use Json, Slack or Teams.");
        }

        // A name that takes long to resolve must not hold the project's contacts grain.
        using var resolving = new CancellationTokenSource(ResolveTimeout);
        Uri uri;
        try
        {
            uri = await targets.CheckNewAsync(url, resolving.Token);
        }
        catch (OperationCanceledException) when (resolving.IsCancellationRequested)
        {
            throw new ArgumentException($"The webhook host could not be resolved within {ResolveTimeout.TotalSeconds} s: check the name, or try again.");
        }

        var secret = WebhookKeys.NewSecret();
        var (contact, created) = await webhooks.UpsertAsync(projectId, uri, format, types, secret, time.GetUtcNow());
        LogWebhookAdded(logger, contact.Id, contact.DisplayUrl, contact.Format, projectId, created);
        return new WebhookSecretIssued(contact, created ? secret : null, created);
    }

    public async Task<bool> RemoveWebhookAsync(string urlOrId)
    {
        var id = ResolveId(urlOrId);
        var removed = await webhooks.DeleteAsync(projectId, id);
        if (removed)
        {
            LogWebhookRemoved(logger, id, projectId);
        }

        return removed;
    }

    public async Task<WebhookSecretIssued?> ResetWebhookSecretAsync(string urlOrId, TimeSpan? gracePeriod)
    {
        var grace = gracePeriod ?? options.Value.Notifications.Webhooks.RotationGracePeriod;
        if (grace < TimeSpan.Zero || grace > WebhookSecretLimits.MaxGracePeriod)
        {
            throw new ArgumentException($"The grace period {grace} is out of range: give 0 (the current secret stops signing at once) up to {WebhookSecretLimits.MaxGracePeriod.TotalDays} days.");
        }

        var id = ResolveId(urlOrId);
        var secret = WebhookKeys.NewSecret();
        var contact = await webhooks.RotateAsync(projectId, id, secret, grace, time.GetUtcNow());
        if (contact is null)
        {
            return null;
        }

        LogSecretRotated(logger, id, projectId, grace);
        return new WebhookSecretIssued(contact, secret, Created: false);
    }

    /// <summary>The id of a contact given by its id (wh_...) or its URL.</summary>
    private string ResolveId(string? urlOrId)
    {
        var text = urlOrId?.Trim() ?? "";
        return WebhookSecretLimits.IsWebhookId(text) && !text.Contains(':', StringComparison.Ordinal)
            ? text
            : keys.ContactId(projectId, WebhookTargetPolicy.Parse(text).AbsoluteUri);
    }

    private static void CheckTypes(NotificationType types)
    {
        const NotificationType all = NotificationType.Security | NotificationType.Incident | NotificationType.Technical | NotificationType.Billing;
        if (types == NotificationType.None || (types & ~all) != 0)
        {
            throw new ArgumentException("Give one or more notification types among Security, Incident, Technical and Billing.");
        }
    }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook contact {ContactId} ({DisplayUrl}, {Format}) of project {ProjectId} added or updated (new: {Created})")]
    private static partial void LogWebhookAdded(ILogger logger, string contactId, string displayUrl, WebhookFormat format, string projectId, bool created);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook contact {ContactId} of project {ProjectId} removed")]
    private static partial void LogWebhookRemoved(ILogger logger, string contactId, string projectId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook contact {ContactId} of project {ProjectId}: new secret; the previous one signs for {GracePeriod} more")]
    private static partial void LogSecretRotated(ILogger logger, string contactId, string projectId, TimeSpan gracePeriod);
}
