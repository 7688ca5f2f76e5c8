using System.Net.Sockets;
using AuditOrleans.Grains.Storage;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace AuditOrleans.Grains.Notifications;

/// <summary>One delivery round's connection to the mail system.</summary>
public interface IMailSession : IAsyncDisposable
{
    /// <summary>Sends one message and classifies the outcome; throws only when <paramref name="cancellationToken"/> is cancelled.</summary>
    Task<SendOutcome> SendAsync(MimeMessage message, CancellationToken cancellationToken);
}
