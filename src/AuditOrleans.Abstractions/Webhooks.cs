namespace AuditOrleans;

/// <summary>The body a webhook contact receives (docs/webhooks.md).</summary>
public enum WebhookFormat
{
    /// <summary>The versioned AuditOrleans JSON document, for incident tooling and scripts.</summary>
    Json = 0,

    /// <summary>A Slack incoming-webhook message (text and blocks).</summary>
    Slack = 1,

    /// <summary>A Microsoft Teams message carrying an Adaptive Card (Workflows webhooks).</summary>
    Teams = 2,
}

/// <summary>Limits of webhook contacts shared by the silo and the module.</summary>
public static class WebhookSecretLimits
{
    /// <summary>The longest time the previous secret may keep signing after a rotation.</summary>
    public static readonly TimeSpan MaxGracePeriod = TimeSpan.FromDays(7);

    /// <summary>The longest URL a webhook contact may have.</summary>
    public const int MaxUrlLength = 2048;

    /// <summary>The prefix of a webhook contact's id.</summary>
    public const string IdPrefix = "wh_";

    /// <summary>True for a delivery recipient that is a webhook contact's id rather than an email address.</summary>
    public static bool IsWebhookId(string? value) =>
        value is { Length: > 3 } && value.StartsWith(IdPrefix, StringComparison.Ordinal) && !value.Contains('@', StringComparison.Ordinal);
}

/// <summary>
/// A webhook contact of a project, as listed: never its secret, and its URL only as far as the
/// first path segment (a chat webhook's URL is itself a credential).
/// </summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.WebhookContact")]
public sealed record WebhookContact(
    [property: Id(0)] string ProjectId,
    [property: Id(1)] string Id,
    [property: Id(2)] string DisplayUrl,
    [property: Id(3)] WebhookFormat Format,
    [property: Id(4)] NotificationType Types,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] string SecretFingerprint,
    [property: Id(7)] DateTimeOffset SecretCreatedAt)
{
    /// <summary>Until when the secret before the last rotation also signs; null when it no longer does.</summary>
    [Id(8)] public DateTimeOffset? PreviousSecretExpiresAt { get; init; }
}

/// <summary>
/// A webhook contact with its signing secret: returned once, when the contact is created or its
/// secret is rotated. The silo keeps the secret sealed; nobody can read it back.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("AuditOrleans.WebhookSecretIssued")]
public sealed record WebhookSecretIssued(
    [property: Id(0)] WebhookContact Contact,
    [property: Id(1)] string? Secret,
    [property: Id(2)] bool Created);
