using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AuditOrleans.Bench;

/// <summary>
/// A minimal SMTP server on 127.0.0.1 (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) that
/// notes the moment it accepts each message: the <see cref="Stopwatch"/> timestamp taken just
/// before it answers 250 to the end of DATA.
/// </summary>
public sealed class BenchSmtpServer : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(long At, int Size)>> expected = new(StringComparer.OrdinalIgnoreCase);
    private readonly Task accepting;
    private int accepted;

    public BenchSmtpServer()
    {
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Messages accepted so far.</summary>
    public int Accepted => accepted;

    /// <summary>Completes with the acceptance timestamp and the size (bytes of DATA) of the next message addressed to <paramref name="recipient"/>.</summary>
    public Task<(long At, int Size)> ExpectAsync(string recipient) => Expected(recipient).Task;

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        try
        {
            await accepting;
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }

        stopping.Dispose();
    }

    private TaskCompletionSource<(long At, int Size)> Expected(string recipient) =>
        expected.GetOrAdd(recipient, static _ => new TaskCompletionSource<(long, int)>(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            var client = await listener.AcceptTcpClientAsync(stopping.Token);
            // Each conversation on a thread of its own, with blocking reads: this server stands
            // for another machine, so its work must not queue behind the silo's on the thread pool
            // that the silo and the bench share in this process.
            new Thread(() => Converse(client)) { IsBackground = true, Name = "bench SMTP server" }.Start();
        }
    }

    private void Converse(TcpClient client)
    {
        using (client)
        using (stopping.Token.Register(client.Close))
        {
            try
            {
                client.NoDelay = true;
                var stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.Latin1);
                var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
                writer.WriteLine("220 bench.localhost ESMTP");
                var recipients = new List<string>();
                while (reader.ReadLine() is { } line)
                {
                    var verb = line.Length >= 4 ? line[..4].ToUpperInvariant() : line.ToUpperInvariant();
                    switch (verb)
                    {
                        case "EHLO":
                            writer.WriteLine("250-bench.localhost\r\n250 PIPELINING");
                            break;
                        case "HELO":
                        case "NOOP":
                            writer.WriteLine("250 OK");
                            break;
                        case "MAIL":
                        case "RSET":
                            recipients.Clear();
                            writer.WriteLine("250 OK");
                            break;
                        case "RCPT":
                            var start = line.IndexOf('<', StringComparison.Ordinal);
                            var end = line.IndexOf('>', StringComparison.Ordinal);
                            recipients.Add(start >= 0 && end > start ? line[(start + 1)..end] : line[8..].Trim());
                            writer.WriteLine("250 OK");
                            break;
                        case "DATA":
                            writer.WriteLine("354 End data with <CR><LF>.<CR><LF>");
                            var size = 0;
                            while (reader.ReadLine() is { } data && data != ".")
                            {
                                size += data.Length + 2;
                            }

                            var at = Stopwatch.GetTimestamp();
                            Interlocked.Increment(ref accepted);
                            foreach (var recipient in recipients)
                            {
                                Expected(recipient).TrySetResult((at, size));
                            }

                            recipients.Clear();
                            writer.WriteLine("250 OK queued");
                            break;
                        case "QUIT":
                            writer.WriteLine("221 Bye");
                            return;
                        default:
                            writer.WriteLine("502 Command not implemented");
                            break;
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
