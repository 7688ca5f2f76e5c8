namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// A digest that is due: one email to one recipient carrying several firings (docs/alerts.md,
/// Grouping). <see cref="Region"/> and <see cref="Alert"/> are null for a merged digest (the
/// recipient's email cap was reached).
/// </summary>
public sealed record DueDigest(
    string Id,
    string ProjectId,
    string Recipient,
    string? Region,
    AlertName? Alert,
    DateTimeOffset OpenedAt,
    DateTimeOffset DueAt,
    int Attempts,
    string MessageId)
{
    public bool IsMerged => Alert is null;
}
