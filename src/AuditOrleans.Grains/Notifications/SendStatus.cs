using System.Net.Sockets;
using AuditOrleans.Grains.Storage;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace AuditOrleans.Grains.Notifications;

/// <summary>How one delivery attempt ended.</summary>
public enum SendStatus
{
    Delivered,

    /// <summary>Worth retrying later: the server is down or busy, a 4xx reply, a timeout.</summary>
    Transient,

    /// <summary>Refused for good (a 5xx reply such as an unknown recipient): not retried.</summary>
    Permanent,
}
