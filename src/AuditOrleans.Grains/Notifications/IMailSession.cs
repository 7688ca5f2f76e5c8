using System.Net.Sockets;
using AuditOrleans.Grains.Storage;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace AuditOrleans.Grains.Notifications;

/// <summary>A connection to the mail system, for a delivery round and, while it stays usable, the next ones.</summary>
public interface IMailSession : IAsyncDisposable
{
    /// <summary>
    /// True when the next round may send through this session: connected, and nothing of this
    /// round found the server unreachable (docs/architecture.md, The path of one event: MailSender).
    /// </summary>
    bool Reusable { get; }

    /// <summary>Sends one message and classifies the outcome; throws only when <paramref name="cancellationToken"/> is cancelled.</summary>
    Task<SendOutcome> SendAsync(MimeMessage message, CancellationToken cancellationToken);
}
