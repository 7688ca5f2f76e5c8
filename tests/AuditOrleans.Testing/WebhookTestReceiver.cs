using System.Collections.Concurrent;
using System.Net;

namespace AuditOrleans.Testing;

/// <summary>A request as the test receiver got it, with the verdict of <see cref="WebhookVerifier"/> at arrival.</summary>
public sealed record ReceivedWebhook(string Path, string? Id, string? Timestamp, string? Signature, string? ContentType, byte[] Body, int AnsweredStatus, string? Rejection)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Body);

    public System.Text.Json.JsonDocument Json() => System.Text.Json.JsonDocument.Parse(Body);
}

/// <summary>
/// A real HTTP receiver on 127.0.0.1 (HttpListener) for webhook tests. Each path has the secret
/// it verifies with; every request is checked by <see cref="WebhookVerifier"/> against
/// <see cref="Now"/> (the tests' clock) and a request that fails is answered 401. Answers can be
/// scripted per path (a status, then the next, e.g. 503 then 200) with extra headers
/// (Retry-After, Location). It can be stopped and started again on the same port to play a
/// receiver that is down.
/// </summary>
public sealed class WebhookTestReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedWebhook> received = new();
    private readonly ConcurrentDictionary<string, string[]> secrets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(int Status, (string, string)[] Headers)>> scripts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> holds = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private HttpListener? listener;
    private Task? loop;
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WebhookTestReceiver(Func<DateTimeOffset> now) => Now = now;

    public Func<DateTimeOffset> Now { get; }

    public int Port { get; private set; }

    public IReadOnlyList<ReceivedWebhook> Requests => [.. received];

    /// <summary>The URL of a path on this receiver.</summary>
    public string Url(string path) => $"http://127.0.0.1:{Port}/{path.TrimStart('/')}";

    /// <summary>The secrets a path verifies with (any of them may match).</summary>
    public void Trust(string path, params string[] secret) => secrets["/" + path.TrimStart('/')] = secret;

    /// <summary>The next answers of a path, in order; once they are used up it answers 200.</summary>
    public void Script(string path, int status, params (string Name, string Value)[] headers) =>
        scripts.GetOrAdd("/" + path.TrimStart('/'), static _ => new()).Enqueue((status, headers));

    /// <summary>
    /// Plays a receiver that hangs: requests to the path are recorded when they arrive but answered
    /// only once the returned action is called. Requests are handled concurrently, so other paths
    /// are answered meanwhile.
    /// </summary>
    public Action Hold(string path)
    {
        var key = "/" + path.TrimStart('/');
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        holds[key] = held;
        return () =>
        {
            holds.TryRemove(new KeyValuePair<string, TaskCompletionSource>(key, held));
            held.TrySetResult();
        };
    }

    public IReadOnlyList<ReceivedWebhook> RequestsTo(string path) => [.. received.Where(r => r.Path == "/" + path.TrimStart('/'))];

    public void Start()
    {
        lock (gate)
        {
            if (listener is not null)
            {
                return;
            }

            for (var tries = 0; ; tries++)
            {
                var port = Port == 0 ? FreePort.Next() : Port;
                var candidate = new HttpListener();
                candidate.Prefixes.Add($"http://127.0.0.1:{port}/");
                try
                {
                    candidate.Start();
                    Port = port;
                    listener = candidate;
                    break;
                }
                catch (HttpListenerException) when (tries < 20)
                {
                    candidate.Close();
                    if (Port != 0)
                    {
                        Thread.Sleep(100);
                    }
                }
            }

            loop = Task.Run(() => AcceptAsync(listener));
        }
    }

    public async Task StopAsync()
    {
        HttpListener? current;
        Task? running;
        lock (gate)
        {
            (current, listener) = (listener, null);
            (running, loop) = (loop, null);
        }

        current?.Close();
        if (running is not null)
        {
            await running;
        }
    }

    /// <summary>Waits until <paramref name="count"/> requests reached <paramref name="path"/>.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAsync(string path, int count = 1, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var signal = changed.Task;
            var got = RequestsTo(path);
            if (got.Count >= count)
            {
                return got;
            }

            try
            {
                await signal.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{got.Count} of {count} webhook requests reached /{path.TrimStart('/')} in time.");
            }
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task AcceptAsync(HttpListener server)
    {
        while (server.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await server.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                try
                {
                    await HandleAsync(context);
                }
                catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
                {
                    // The client went away: nothing to answer.
                }
            });
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        using var buffer = new MemoryStream();
        request.InputStream.CopyTo(buffer);
        var body = buffer.ToArray();
        var path = request.Url!.AbsolutePath;
        var (id, timestamp, signature) = (request.Headers["webhook-id"], request.Headers["webhook-timestamp"], request.Headers["webhook-signature"]);
        var rejection = secrets.TryGetValue(path, out var trusted)
            ? trusted.Select(s => WebhookVerifier.Reject(s, id, timestamp, signature, body, Now())).Aggregate(static (a, b) => a is null || b is null ? null : a)
            : "no secret for this path";
        var status = 200;
        (string, string)[] headers = [];
        if (rejection is not null)
        {
            status = 401;
        }
        else if (scripts.TryGetValue(path, out var queue) && queue.TryDequeue(out var next))
        {
            (status, headers) = next;
        }

        received.Enqueue(new ReceivedWebhook(path, id, timestamp, signature, request.ContentType, body, status, rejection));
        if (holds.TryGetValue(path, out var held))
        {
            Interlocked.Exchange(ref changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            await held.Task;
        }

        var response = context.Response;
        response.StatusCode = status;
        foreach (var (name, value) in headers)
        {
            response.Headers[name] = value;
        }

        var answer = System.Text.Encoding.UTF8.GetBytes(rejection ?? (status >= 400 ? $"scripted {status}" : "ok"));
        response.ContentLength64 = answer.Length;
        response.OutputStream.Write(answer);
        response.Close();
        Interlocked.Exchange(ref changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
