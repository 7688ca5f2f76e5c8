using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace AuditOrleans.Bench;

/// <summary>
/// Detection latency: the time from the acknowledgement of the 21st 403 (the IngestAsync call
/// that carries it returns to the client) to the SMTP server on 127.0.0.1 accepting the alert
/// mail (its 250 to the end of DATA). One trial per fresh project-region, one at a time. The
/// baseline is what the mail alone costs: a plain MailKit connect, send and quit of a message
/// of the same size to the same server.
/// </summary>
public sealed class DetectLatencyBench(BenchHost host, BenchSmtpServer smtp, Settings settings, TextWriter log)
{
    private const string Region = "fr-par";

    private static readonly TimeSpan TrialTimeout = TimeSpan.FromSeconds(30);

    public async Task RunAsync(Report report, CancellationToken cancellationToken)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var workload = new Workload(5);

        // Warm-up trials (first activations of the outbox, JIT, the SMTP path); not counted.
        for (var i = 0; i < 5; i++)
        {
            await TrialAsync(workload, $"dw{run}-{i:D4}", cancellationToken);
        }

        var latencies = new List<double>(settings.DetectTrials);
        var sizes = new List<int>();
        for (var i = 0; i < settings.DetectTrials; i++)
        {
            var (ms, size) = await TrialAsync(workload, $"d{run}-{i:D4}", cancellationToken);
            latencies.Add(ms);
            sizes.Add(size);
        }

        var baselines = new List<double>(settings.DetectTrials);
        var messageSize = (int)Stats.Median(sizes.Select(static s => (double)s));
        for (var i = 0; i < 5 + settings.DetectTrials; i++)
        {
            var ms = await PlainSendAsync($"plain-{run}-{i:D4}@bench.example", messageSize, cancellationToken);
            if (i >= 5)
            {
                baselines.Add(ms);
            }
        }

        // Where the mail's time goes: the same send over a socket with Nagle's algorithm off.
        var noDelay = new List<double>(settings.DetectTrials);
        for (var i = 0; i < 5 + settings.DetectTrials; i++)
        {
            var ms = await PlainSendAsync($"nodelay-{run}-{i:D4}@bench.example", messageSize, cancellationToken, noDelay: true);
            if (i >= 5)
            {
                noDelay.Add(ms);
            }
        }

        var p50 = Stats.Percentile(latencies, 50);
        var p99 = Stats.Percentile(latencies, 99);
        var baseP50 = Stats.Percentile(baselines, 50);
        var baseP99 = Stats.Percentile(baselines, 99);
        log.WriteLine($"  detect: p50 {p50:0.0} ms, p99 {p99:0.0} ms, max {latencies.Max():0.0} ms; plain MailKit send p50 {baseP50:0.0} ms, p99 {baseP99:0.0} ms; " +
            $"with TCP_NODELAY p50 {Stats.Percentile(noDelay, 50):0.0} ms, p99 {Stats.Percentile(noDelay, 99):0.0} ms");
        report.Add(new Figure("detect.p50_ms", "detect: 21st 403 acknowledged -> SMTP server accepted the alert, p50", p50, "ms")
        {
            BaselineKey = "detect.baseline_p50_ms",
            Baseline = baseP50,
            BaselineLabel = "plain MailKit send",
            RatioKey = "detect.p50_ratio",
            Ratio = p50 / baseP50,
        });
        report.Add(new Figure("detect.p99_ms", "detect: 21st 403 acknowledged -> SMTP server accepted the alert, p99", p99, "ms")
        {
            BaselineKey = "detect.baseline_p99_ms",
            Baseline = baseP99,
            BaselineLabel = "plain MailKit send",
            RatioKey = "detect.p99_ratio",
            Ratio = p99 / baseP99,
            Target = "<= 100 ms",
            Met = p99 <= 100,
            Samples = latencies,
            Extra = new Dictionary<string, double>
            {
                ["detect.max_ms"] = latencies.Max(),
                ["detect.baseline_nodelay_p50_ms"] = Stats.Percentile(noDelay, 50),
                ["detect.baseline_nodelay_p99_ms"] = Stats.Percentile(noDelay, 99),
                ["detect.trials"] = latencies.Count,
            },
        });
        report.Note("detect",
            $"{latencies.Count} trials (nearest-rank percentiles), each a fresh project-region with the alert on and one Security contact: 20 403s sent and " +
            "acknowledged, then the clock starts when the IngestAsync call carrying the 21st returns to the client and stops when the SMTP server on 127.0.0.1 " +
            "(a small listener in the bench) answers 250 to the end of DATA. In between: the firing committed with the event, the outbox woken, the due " +
            "delivery read, the email composed and sent by MailKit. Baseline: a plain MailKit connect + send + quit of a message of the same size " +
            $"({messageSize:N0} bytes) to the same server; the same over a socket with TCP_NODELAY: p50 {Stats.Percentile(noDelay, 50):0.0} ms, " +
            $"p99 {Stats.Percentile(noDelay, 99):0.0} ms.");
    }

    private async Task<(double Milliseconds, int Size)> TrialAsync(Workload workload, string projectId, CancellationToken cancellationToken)
    {
        var (fromAcknowledgement, _, size) = await TrialAsync(host, smtp, workload, projectId, cancellationToken);
        return (fromAcknowledgement, size);
    }

    /// <summary>
    /// One trial on a fresh project-region: the milliseconds from the acknowledgement of the 21st
    /// 403 and from the start of the call carrying it to the SMTP server's 250, and the mail's size.
    /// </summary>
    public static async Task<(double FromAcknowledgement, double FromCall, int Size)> TrialAsync(
        BenchHost host, BenchSmtpServer smtp, Workload workload, string projectId, CancellationToken cancellationToken, bool prepared = false)
    {
        if (!prepared)
        {
            await PrepareAsync(host, projectId);
        }

        var recipient = Recipient(projectId);
        var grains = host.Client;
        var ingest = grains.GetGrain<IIngestGrain>(0);
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-100);
        var first20 = Enumerable.Range(0, 20).Select(i => workload.Event(projectId, Region, t0.AddSeconds(i), 403)).ToList();
        var accepted = await ingest.IngestAsync(projectId, first20);
        if (accepted.Accepted != 20)
        {
            throw new InvalidOperationException($"The engine accepted {accepted.Accepted} of 20 events: {accepted.Errors.FirstOrDefault()?.Message}");
        }

        var mail = smtp.ExpectAsync(recipient);
        if (mail.IsCompleted)
        {
            throw new InvalidOperationException($"An alert reached {recipient} before the 21st 403: the window fired too early.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var twentyFirst = workload.Event(projectId, Region, t0.AddSeconds(20), 403);
        var called = Stopwatch.GetTimestamp();
        var result = await ingest.IngestAsync(projectId, [twentyFirst]);
        var acknowledged = Stopwatch.GetTimestamp();
        if (result.Accepted != 1)
        {
            throw new InvalidOperationException($"The 21st 403 was not accepted: {result.Errors.FirstOrDefault()?.Message}");
        }

        // Negative if the mail were accepted before the acknowledgement reached the client.
        var (at, size) = await mail.WaitAsync(TrialTimeout, cancellationToken);
        return (Stopwatch.GetElapsedTime(acknowledged, at).TotalMilliseconds, Stopwatch.GetElapsedTime(called, at).TotalMilliseconds, size);
    }

    /// <summary>A trial's project-region set up: its Security contact, and HttpForbiddenErrorRateHigh on.</summary>
    public static async Task PrepareAsync(BenchHost host, string projectId)
    {
        await host.Client.GetGrain<INotificationContactsGrain>(projectId).AddAsync(Recipient(projectId), NotificationType.Security);
        await host.Client.GetGrain<IAlertConfigGrain>(Scope.Key(projectId, Region)).SetActiveAsync(new Dictionary<AlertName, bool> { [AlertName.HttpForbiddenErrorRateHigh] = true });
    }

    private static string Recipient(string projectId) => $"security@{projectId}.bench.example";

    private async Task<double> PlainSendAsync(string recipient, int size, CancellationToken cancellationToken, bool noDelay = false)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("auditorleans@localhost"));
        message.To.Add(MailboxAddress.Parse(recipient));
        message.Subject = "[AuditOrleans] HttpForbiddenErrorRateHigh in bench/fr-par";
        var line = new string('x', 70) + "\n";
        message.Body = new TextPart("plain") { Text = string.Concat(Enumerable.Repeat(line, Math.Max(1, size / line.Length))) };
        var mail = smtp.ExpectAsync(recipient);
        var start = Stopwatch.GetTimestamp();
        using var client = new SmtpClient();
        if (noDelay)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(IPAddress.Loopback, smtp.Port, cancellationToken);
            await client.ConnectAsync(socket, "127.0.0.1", smtp.Port, SecureSocketOptions.None, cancellationToken);
        }
        else
        {
            await client.ConnectAsync("127.0.0.1", smtp.Port, SecureSocketOptions.None, cancellationToken);
        }

        await client.SendAsync(message, cancellationToken);
        await client.DisconnectAsync(quit: true, cancellationToken);
        var (at, _) = await mail.WaitAsync(TrialTimeout, cancellationToken);
        return Stopwatch.GetElapsedTime(start, at).TotalMilliseconds;
    }
}
