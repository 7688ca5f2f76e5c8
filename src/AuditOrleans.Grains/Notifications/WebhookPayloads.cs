namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// The bodies of webhook requests (docs/webhooks.md, Payloads): the versioned AuditOrleans JSON
/// document, a Slack message or a Teams Adaptive Card, all rendered from the same
/// <see cref="AlertMessage"/> or <see cref="DigestMessage"/> the email is written from. The same
/// firing (or digest) and webhook id always give the same bytes, so a retry repeats the request.
/// </summary>
public static class WebhookPayloads
{
    /// <summary>The version of the JSON document; it grows only when a field changes meaning or goes away.</summary>
    public const int Version = 1;

    /// <summary>Most firings a digest's JSON lists; the rest are counted (<c>total</c>) and in the alert history.</summary>
    public const int MaxDigestFirings = 200;

    /// <summary>Most firings a digest's chat message lists.</summary>
    public const int MaxChatRows = 20;

    public static byte[] Alert(WebhookFormat format, AlertMessage message, string webhookId) => format switch
    {
        WebhookFormat.Slack => SlackPayload.Alert(message),
        WebhookFormat.Teams => TeamsPayload.Alert(message),
        _ => JsonPayload.Alert(message, webhookId),
    };

    public static byte[] Digest(WebhookFormat format, DigestMessage message, string webhookId) => format switch
    {
        WebhookFormat.Slack => SlackPayload.Digest(message),
        WebhookFormat.Teams => TeamsPayload.Digest(message),
        _ => JsonPayload.Digest(message, webhookId),
    };
}
