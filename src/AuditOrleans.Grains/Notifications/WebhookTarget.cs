namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// What the outbox needs to deliver to one webhook contact: its URL and format, opened from the
/// database, and the secrets that sign now (the current one first; the previous one during a
/// rotation's grace period).
/// </summary>
public sealed record WebhookTarget(string Id, string ProjectId, Uri Url, WebhookFormat Format, IReadOnlyList<string> Secrets);
