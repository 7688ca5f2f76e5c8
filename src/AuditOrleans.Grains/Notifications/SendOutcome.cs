using System.Net.Sockets;
using AuditOrleans.Grains.Storage;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace AuditOrleans.Grains.Notifications;

/// <summary>The outcome of one attempt, with the reason when it failed.</summary>
public readonly record struct SendOutcome(SendStatus Status, string? Error)
{
    /// <summary>The wait the receiver asked for (an HTTP Retry-After), already capped; null when it asked none.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static SendOutcome Delivered { get; } = new(SendStatus.Delivered, null);

    public static SendOutcome Transient(string error) => new(SendStatus.Transient, error);

    public static SendOutcome Permanent(string error) => new(SendStatus.Permanent, error);
}
