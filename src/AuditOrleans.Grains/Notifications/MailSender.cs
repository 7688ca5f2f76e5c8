using System.Diagnostics;
using System.Net.Sockets;
using AuditOrleans.Grains.Storage;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Sends alert emails: over SMTP with MailKit when <c>Smtp:Host</c> is set, otherwise as
/// <c>.eml</c> files in <c>Smtp:PickupDirectory</c>.
/// </summary>
public sealed class MailSender(IOptions<AuditOrleansOptions> options)
{
    /// <summary>True when no SMTP host is configured and emails go to the pickup directory.</summary>
    public bool UsesPickupDirectory => string.IsNullOrWhiteSpace(options.Value.Smtp.Host);

    /// <summary>
    /// Opens a session for one delivery round. An SMTP session connects on its first message
    /// and reuses the connection; once the server cannot be reached, the session answers the
    /// remaining messages of the round with the same error instead of knocking again.
    /// </summary>
    public IMailSession OpenSession() =>
        UsesPickupDirectory ? new PickupSession(options.Value.Smtp.PickupDirectory) : new SmtpSession(options.Value.Smtp);

    /// <summary>The file name of a message in the pickup directory: derived from its Message-Id, so a re-delivery overwrites.</summary>
    public static string PickupFileName(string messageId)
    {
        var local = messageId.Split('@')[0];
        var name = string.Create(local.Length, local, static (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = char.IsAsciiLetterOrDigit(s[i]) || s[i] is '-' or '_' or '.' ? s[i] : '_';
            }
        });
        return name.Trim('.') + ".eml";
    }

    private sealed class PickupSession(string directory) : IMailSession
    {
        // Files need no connection: each round takes a new session.
        public bool Reusable => false;

        public async Task<SendOutcome> SendAsync(MimeMessage message, CancellationToken cancellationToken)
        {
            string? temp = null;
            try
            {
                // The messages hold alert details: only the silo's user may read them.
                PrivateFiles.CreateDirectory(directory);
                var path = Path.Combine(directory, PickupFileName(message.MessageId ?? throw new ArgumentException("The message has no Message-Id.", nameof(message))));
                temp = Path.Combine(directory, $".{Guid.NewGuid():N}.tmp");
                // What an SMTP client does before DATA: 7-bit safe encodings, lines within the RFC limit.
                message.Prepare(EncodingConstraint.SevenBit);
                await using (var stream = new FileStream(temp, PrivateFiles.StreamOptions(FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.Asynchronous)))
                {
                    await message.WriteToAsync(stream, cancellationToken);
                    await stream.FlushAsync(cancellationToken);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temp, path, overwrite: true);
                temp = null;
                return SendOutcome.Delivered;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return SendOutcome.Transient($"Could not write to the pickup directory '{directory}': {ex.Message}");
            }
            finally
            {
                if (temp is not null)
                {
                    TryDelete(temp);
                }
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>
    /// An SMTP connection, kept while usable. Its exchange with the server runs on a thread of its
    /// own (<see cref="SessionThread"/>) with MailKit's blocking calls: under load, an alert's
    /// replies and lines are handled as soon as the socket is ready, not when a pool worker frees up.
    /// </summary>
    private sealed class SmtpSession(SmtpOptions smtp) : IMailSession
    {
        private readonly SmtpClient client = new() { Timeout = (int)Math.Clamp(smtp.Timeout.TotalMilliseconds, 1000, int.MaxValue) };
        private readonly SessionThread thread = new();
        private string? unreachable;

        // Messages accepted on the current connection, and when the last one was (Stopwatch ticks).
        private int sentOnConnection;
        private long lastSent;

        public bool Reusable => unreachable is null && client.IsConnected;

        public Task<SendOutcome> SendAsync(MimeMessage message, CancellationToken cancellationToken) =>
            unreachable is not null ? Task.FromResult(SendOutcome.Transient(unreachable)) : thread.RunAsync(() => Send(message, cancellationToken));

        private SendOutcome Send(MimeMessage message, CancellationToken cancellationToken)
        {
            // A connection idle for longer than servers usually keep one is not tried: a new one is opened.
            if (client.IsConnected && sentOnConnection > 0 && Stopwatch.GetElapsedTime(lastSent) > MaxIdle)
            {
                Drop();
            }

            var outcome = SendOnce(message, cancellationToken);
            if (outcome.Stale)
            {
                // The kept connection was closed by the server while idle: nothing of this message
                // reached it (the first command failed), so it goes once more on a new connection.
                Drop();
                outcome = SendOnce(message, cancellationToken);
            }

            return outcome.Outcome;
        }

        private (SendOutcome Outcome, bool Stale) SendOnce(MimeMessage message, CancellationToken cancellationToken)
        {
            var kept = client.IsConnected && sentOnConnection > 0;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(smtp.Timeout);
            if (!client.IsConnected)
            {
                try
                {
                    // Nagle off: MailKit ends DATA with a small write behind the body, which
                    // otherwise waits for the server's delayed ACK (~40 ms on Linux) on every alert.
                    var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    try
                    {
                        // Blocking on this session's own thread, never a pool worker's; the token bounds the wait.
                        socket.ConnectAsync(smtp.Host!, smtp.Port, timeout.Token).AsTask().GetAwaiter().GetResult();
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }

                    client.Connect(socket, smtp.Host!, smtp.Port, SocketOptions(smtp.Security), timeout.Token);
                    if (!string.IsNullOrEmpty(smtp.Username))
                    {
                        client.Authenticate(smtp.Username, smtp.Password ?? "", timeout.Token);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    unreachable = DescribeConnectFailure(ex);
                    Drop();
                    return (SendOutcome.Transient(unreachable), false);
                }

                sentOnConnection = 0;
            }

            try
            {
                client.Send(message, timeout.Token);
                sentOnConnection++;
                lastSent = Stopwatch.GetTimestamp();
                return (SendOutcome.Delivered, false);
            }
            catch (SmtpCommandException ex) when (kept && ex.StatusCode == SmtpStatusCode.ServiceNotAvailable)
            {
                // 421 on a kept connection: the server is closing it (its idle timeout).
                return (SendOutcome.Transient($"The SMTP server closed the connection: {(int)ex.StatusCode} {ex.Message}"), true);
            }
            catch (SmtpCommandException ex)
            {
                // The connection stays usable after a refused command: the next message reuses it.
                var reply = $"{(int)ex.StatusCode} {ex.Message}";
                var error = ex.ErrorCode switch
                {
                    SmtpErrorCode.RecipientNotAccepted => $"The SMTP server refused the recipient {ex.Mailbox}: {reply}",
                    SmtpErrorCode.SenderNotAccepted => $"The SMTP server refused the sender {ex.Mailbox} (check Smtp:From): {reply}",
                    _ => $"The SMTP server refused the message: {reply}",
                };
                return ((int)ex.StatusCode >= 500 ? SendOutcome.Permanent(error) : SendOutcome.Transient(error), false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Drop();
                var stale = kept && !IsTimeout(ex) && ex is IOException or SocketException or ServiceNotConnectedException or SmtpProtocolException;
                return (SendOutcome.Transient(ex switch
                {
                    _ when IsTimeout(ex) => $"The SMTP server {smtp.Host}:{smtp.Port} did not answer within {smtp.Timeout.TotalSeconds:0.#} s.",
                    _ => $"Sending through {smtp.Host}:{smtp.Port} failed: {ex.Message}",
                }), stale);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (thread.Started && client.IsConnected)
            {
                await thread.RunAsync(Quit);
            }

            thread.Dispose();
            client.Dispose();
        }

        private bool Quit()
        {
            try
            {
                using var timeout = new CancellationTokenSource(smtp.Timeout);
                client.Disconnect(quit: true, timeout.Token);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ProtocolException or SmtpCommandException)
            {
                // The messages are sent; a failed QUIT changes nothing.
            }

            return true;
        }

        /// <summary>Longest idle time after which a kept connection is still tried (servers keep one at least 5 minutes, RFC 5321 4.5.3.2.7).</summary>
        private static readonly TimeSpan MaxIdle = TimeSpan.FromSeconds(60);

        private static SecureSocketOptions SocketOptions(SmtpSecurity security) => security switch
        {
            SmtpSecurity.None => SecureSocketOptions.None,
            SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
            SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
            _ => SecureSocketOptions.Auto,
        };

        private string DescribeConnectFailure(Exception ex) => ex switch
        {
            AuthenticationException => $"The SMTP server {smtp.Host}:{smtp.Port} refused the login: check Smtp:Username and Smtp:Password.",
            SslHandshakeException => $"TLS with the SMTP server {smtp.Host}:{smtp.Port} failed ({ex.Message}): check Smtp:Security and the server's certificate.",
            _ when IsTimeout(ex) => $"The SMTP server {smtp.Host}:{smtp.Port} did not answer within {smtp.Timeout.TotalSeconds:0.#} s.",
            SocketException socket => $"Cannot connect to the SMTP server {smtp.Host}:{smtp.Port}: {socket.Message}",
            _ => $"Cannot talk to the SMTP server {smtp.Host}:{smtp.Port}: {ex.Message}",
        };

        /// <summary>Our own deadline, or MailKit's I/O timeout (a TimeoutException, possibly wrapped in an IOException).</summary>
        private static bool IsTimeout(Exception ex) =>
            ex is OperationCanceledException or TimeoutException || ex.InnerException is TimeoutException;

        private void Drop()
        {
            if (client.IsConnected)
            {
                try
                {
                    client.Disconnect(quit: false);
                }
                catch (Exception ex) when (ex is IOException or SocketException or ProtocolException)
                {
                }
            }
        }
    }
}
