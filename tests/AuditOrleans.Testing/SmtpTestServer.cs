using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MimeKit;

namespace AuditOrleans.Testing;

/// <summary>A message as the test SMTP server received it: the envelope and the parsed MIME message.</summary>
/// <param name="From">The envelope sender (MAIL FROM).</param>
/// <param name="Recipients">The envelope recipients (RCPT TO) the server accepted.</param>
/// <param name="Message">The message parsed with MimeKit.</param>
/// <param name="Raw">The message as received, dot-unstuffed.</param>
/// <param name="User">The user the client logged in as, or null without login.</param>
public sealed record ReceivedMail(string From, IReadOnlyList<string> Recipients, MimeMessage Message, byte[] Raw, string? User);

/// <summary>
/// A small but real SMTP server on 127.0.0.1 for tests: MailKit talks to it over a socket. It
/// speaks EHLO/HELO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA (with dot-unstuffing), RSET, NOOP and
/// QUIT, keeps every accepted message, can require a login, can refuse recipients for good (550)
/// or for now (451), and can be stopped and started again on the same port to play a server
/// that is down.
/// </summary>
public sealed class SmtpTestServer : IAsyncDisposable
{
    private const int MaxLine = 64 * 1024;

    private readonly ConcurrentQueue<ReceivedMail> messages = new();
    private readonly ConcurrentDictionary<string, int> refusals = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<TcpClient, byte> connections = new();
    private readonly Lock gate = new();
    private TcpListener? listener;
    private CancellationTokenSource? running;
    private Task? acceptLoop;
    private TaskCompletionSource changed = NewSignal();

    /// <summary>The port, fixed at the first start and kept across stop/start.</summary>
    public int Port { get; private set; }

    public bool IsRunning => listener is not null;

    public IReadOnlyList<ReceivedMail> Messages => [.. messages];

    /// <summary>When set, MAIL is refused (530) until the client logs in with these credentials.</summary>
    public (string User, string Password)? RequiredLogin { get; set; }

    /// <summary>Number of SMTP conversations accepted so far.</summary>
    public int Connections => connectionCount;

    private int connectionCount;

    /// <summary>Starts listening (a free port the first time, the same port afterwards).</summary>
    public void Start()
    {
        lock (gate)
        {
            if (listener is not null)
            {
                return;
            }

            var l = new TcpListener(IPAddress.Loopback, Port);
            l.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            l.Start();
            Port = ((IPEndPoint)l.LocalEndpoint).Port;
            listener = l;
            running = new CancellationTokenSource();
            acceptLoop = AcceptAsync(l, running.Token);
        }
    }

    /// <summary>Stops listening and drops every open conversation: clients now get "connection refused".</summary>
    public async Task StopAsync()
    {
        Task? loop;
        lock (gate)
        {
            if (listener is null)
            {
                return;
            }

            running!.Cancel();
            listener.Stop();
            listener = null;
            loop = acceptLoop;
            acceptLoop = null;
        }

        foreach (var connection in connections.Keys)
        {
            connection.Dispose();
        }

        if (loop is not null)
        {
            await loop;
        }
    }

    /// <summary>Closes every open conversation but keeps listening, as a server does with connections idle past its timeout.</summary>
    public void DropConnections()
    {
        foreach (var connection in connections.Keys)
        {
            connection.Dispose();
        }
    }

    /// <summary>Answers RCPT TO for this address with 550 (permanent) from now on.</summary>
    public void RefuseRecipient(string address) => refusals[address] = 550;

    /// <summary>Answers RCPT TO for this address with 451 (try again later) from now on.</summary>
    public void DeferRecipient(string address) => refusals[address] = 451;

    /// <summary>Accepts this address again.</summary>
    public void AcceptRecipient(string address) => refusals.TryRemove(address, out _);

    /// <summary>Messages whose envelope includes the recipient.</summary>
    public IReadOnlyList<ReceivedMail> MessagesTo(string recipient) =>
        [.. messages.Where(m => m.Recipients.Contains(recipient, StringComparer.OrdinalIgnoreCase))];

    /// <summary>
    /// Waits until at least <paramref name="count"/> messages to the recipient have arrived
    /// and returns them; fails with a clear message after <paramref name="timeout"/>.
    /// </summary>
    public async Task<IReadOnlyList<ReceivedMail>> WaitForMessagesAsync(string recipient, int count = 1, TimeSpan? timeout = null)
    {
        // Generous by default: the bound only matters when a message never comes, and a loaded shared machine is slow.
        timeout ??= TimeSpan.FromSeconds(60);
        using var deadline = new CancellationTokenSource(timeout.Value);
        while (true)
        {
            var signal = changed.Task;
            var found = MessagesTo(recipient);
            if (found.Count >= count)
            {
                return found;
            }

            try
            {
                await signal.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Expected {count} message(s) to {recipient} within {timeout.Value.TotalSeconds} s, got {MessagesTo(recipient).Count}.");
            }
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Received(ReceivedMail mail)
    {
        messages.Enqueue(mail);
        Interlocked.Exchange(ref changed, NewSignal()).TrySetResult();
    }

    private async Task AcceptAsync(TcpListener l, CancellationToken cancellationToken)
    {
        var sessions = new List<Task>();
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await l.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                break;
            }

            Interlocked.Increment(ref connectionCount);
            connections[client] = 0;
            sessions.Add(Task.Run(async () =>
            {
                try
                {
                    await ConverseAsync(client, cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
                {
                    // The client went away or the server was stopped.
                }
                finally
                {
                    connections.TryRemove(client, out _);
                    client.Dispose();
                }
            }, CancellationToken.None));
        }

        await Task.WhenAll(sessions);
    }

    private async Task ConverseAsync(TcpClient client, CancellationToken cancellationToken)
    {
        var stream = client.GetStream();
        var reader = new LineReader(stream);
        async Task ReplyAsync(string text) => await stream.WriteAsync(Encoding.ASCII.GetBytes(text + "\r\n"), cancellationToken);

        await ReplyAsync("220 smtp-test.localhost ESMTP AuditOrleans test server");
        string? from = null;
        string? user = null;
        var recipients = new List<string>();
        while (true)
        {
            var line = await reader.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return;
            }

            var text = Encoding.UTF8.GetString(line);
            var verb = (text.Length >= 4 ? text[..4] : text).ToUpperInvariant();
            switch (verb)
            {
                case "EHLO":
                    await ReplyAsync("250-smtp-test.localhost\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 10485760");
                    from = null;
                    recipients.Clear();
                    break;
                case "AUTH":
                    if (user is not null)
                    {
                        await ReplyAsync("503 5.5.1 Already authenticated");
                        break;
                    }

                    var credentials = await ReadCredentialsAsync(text, reader, ReplyAsync, cancellationToken);
                    if (credentials is null)
                    {
                        await ReplyAsync("501 5.5.4 Malformed AUTH");
                    }
                    else if (RequiredLogin is { } login && (credentials.Value.User != login.User || credentials.Value.Password != login.Password))
                    {
                        await ReplyAsync("535 5.7.8 Authentication credentials invalid");
                    }
                    else
                    {
                        user = credentials.Value.User;
                        await ReplyAsync("235 2.7.0 Authentication successful");
                    }

                    break;
                case "HELO":
                    await ReplyAsync("250 smtp-test.localhost");
                    break;
                case "MAIL":
                    if (from is not null)
                    {
                        // Strict like real servers: a refused RCPT leaves the transaction open until RSET.
                        await ReplyAsync("503 5.5.1 Error: nested MAIL command");
                    }
                    else if (RequiredLogin is not null && user is null)
                    {
                        await ReplyAsync("530 5.7.0 Authentication required");
                    }
                    else
                    {
                        from = Address(text);
                        recipients.Clear();
                        await ReplyAsync(from is null ? "501 5.5.4 Syntax: MAIL FROM:<address>" : "250 2.1.0 OK");
                    }

                    break;
                case "RCPT":
                    var to = Address(text);
                    if (from is null)
                    {
                        await ReplyAsync("503 5.5.1 MAIL first");
                    }
                    else if (to is null)
                    {
                        await ReplyAsync("501 5.5.4 Syntax: RCPT TO:<address>");
                    }
                    else if (refusals.TryGetValue(to, out var code))
                    {
                        await ReplyAsync(code >= 500 ? $"{code} 5.1.1 <{to}>: mailbox unavailable" : $"{code} 4.2.0 <{to}>: try again later");
                    }
                    else
                    {
                        recipients.Add(to);
                        await ReplyAsync("250 2.1.5 OK");
                    }

                    break;
                case "DATA":
                    if (from is null || recipients.Count == 0)
                    {
                        await ReplyAsync("503 5.5.1 RCPT first");
                        break;
                    }

                    await ReplyAsync("354 End data with <CR><LF>.<CR><LF>");
                    var raw = await ReadDataAsync(reader, cancellationToken);
                    if (raw is null)
                    {
                        return;
                    }

                    var message = await MimeMessage.LoadAsync(new MemoryStream(raw), cancellationToken);
                    Received(new ReceivedMail(from, [.. recipients], message, raw, user));
                    from = null;
                    recipients.Clear();
                    await ReplyAsync("250 2.0.0 OK queued");
                    break;
                case "RSET":
                    from = null;
                    recipients.Clear();
                    await ReplyAsync("250 2.0.0 OK");
                    break;
                case "NOOP":
                    await ReplyAsync("250 2.0.0 OK");
                    break;
                case "QUIT":
                    await ReplyAsync("221 2.0.0 Bye");
                    return;
                default:
                    await ReplyAsync("502 5.5.2 Command not recognized");
                    break;
            }
        }
    }

    /// <summary>Reads AUTH PLAIN (initial response or not) or AUTH LOGIN credentials; null when malformed.</summary>
    private static async Task<(string User, string Password)?> ReadCredentialsAsync(string command, LineReader reader, Func<string, Task> replyAsync, CancellationToken cancellationToken)
    {
        var parts = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            return null;
        }

        async Task<string?> AskAsync(string prompt)
        {
            await replyAsync("334 " + prompt);
            var line = await reader.ReadLineAsync(cancellationToken);
            return line is null ? null : Encoding.ASCII.GetString(line);
        }

        try
        {
            switch (parts[1].ToUpperInvariant())
            {
                case "PLAIN":
                    var response = parts.Length > 2 ? parts[2] : await AskAsync("");
                    if (response is null)
                    {
                        return null;
                    }

                    var fields = Encoding.UTF8.GetString(Convert.FromBase64String(response)).Split('\0');
                    return fields.Length == 3 ? (fields[1], fields[2]) : null;
                case "LOGIN":
                    var name = parts.Length > 2 ? parts[2] : await AskAsync(Convert.ToBase64String("Username:"u8));
                    var password = name is null ? null : await AskAsync(Convert.ToBase64String("Password:"u8));
                    return name is null || password is null
                        ? null
                        : (Encoding.UTF8.GetString(Convert.FromBase64String(name)), Encoding.UTF8.GetString(Convert.FromBase64String(password)));
                default:
                    return null;
            }
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static async Task<byte[]?> ReadDataAsync(LineReader reader, CancellationToken cancellationToken)
    {
        using var data = new MemoryStream();
        while (true)
        {
            var line = await reader.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return null;
            }

            if (line.Length == 1 && line[0] == (byte)'.')
            {
                return data.ToArray();
            }

            var start = line.Length > 0 && line[0] == (byte)'.' ? 1 : 0;
            data.Write(line, start, line.Length - start);
            data.Write("\r\n"u8);
        }
    }

    /// <summary>The address between angle brackets of MAIL FROM:&lt;..&gt; or RCPT TO:&lt;..&gt;.</summary>
    private static string? Address(string command)
    {
        var open = command.IndexOf('<', StringComparison.Ordinal);
        var close = open < 0 ? -1 : command.IndexOf('>', open);
        return close > open + 1 ? command[(open + 1)..close] : null;
    }

    /// <summary>Reads CRLF-terminated lines as bytes (DATA may carry 8-bit text).</summary>
    private sealed class LineReader(Stream stream)
    {
        private readonly byte[] buffer = new byte[8192];
        private int start;
        private int end;

        public async Task<byte[]?> ReadLineAsync(CancellationToken cancellationToken)
        {
            using var line = new MemoryStream();
            while (true)
            {
                for (var i = start; i < end; i++)
                {
                    if (buffer[i] == (byte)'\n')
                    {
                        line.Write(buffer, start, i - start);
                        start = i + 1;
                        var bytes = line.ToArray();
                        return bytes.Length > 0 && bytes[^1] == (byte)'\r' ? bytes[..^1] : bytes;
                    }
                }

                line.Write(buffer, start, end - start);
                if (line.Length > MaxLine)
                {
                    throw new IOException("Line too long.");
                }

                start = 0;
                end = await stream.ReadAsync(buffer, cancellationToken);
                if (end == 0)
                {
                    return null;
                }
            }
        }
    }
}
