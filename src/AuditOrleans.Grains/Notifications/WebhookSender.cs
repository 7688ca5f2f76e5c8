using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Posts webhook requests (docs/webhooks.md, Delivery): signed with the contact's secrets, to the
/// address the target check allowed (every connection resolves the host again and connects only
/// to checked addresses, so a name that now resolves into a private network is refused), no
/// proxy, no redirect followed, a deadline per request. Classifies the answer: 2xx delivered;
/// 408, 429, 5xx, timeouts and connection errors retried (with the receiver's Retry-After); a
/// redirect or any other 4xx refused for good.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    public const string UserAgent = "AuditOrleans-Webhooks/1";

    private readonly WebhookTargetPolicy policy;
    private readonly IOptions<AuditOrleansOptions> options;
    private readonly TimeProvider time;
    private readonly HttpClient client;

    public WebhookSender(WebhookTargetPolicy policy, IOptions<AuditOrleansOptions> options, TimeProvider time)
    {
        this.policy = policy;
        this.options = options;
        this.time = time;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Value.Notifications.Webhooks.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            MaxResponseHeadersLength = 64,
            ConnectCallback = ConnectAsync,
        };
        client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Sends one attempt; throws only when <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task<SendOutcome> SendAsync(WebhookTarget target, string webhookId, byte[] body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(body);
        var settings = options.Value.Notifications.Webhooks;
        var shown = $"{target.Format} webhook {WebhookTargetPolicy.Display(target.Url)}";
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, target.Url)
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version11,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.UserAgent.ParseAdd(UserAgent);
        request.Headers.TryAddWithoutValidation(WebhookSignature.IdHeader, webhookId);
        request.Headers.TryAddWithoutValidation(WebhookSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation(WebhookSignature.SignatureHeader, WebhookSignature.Sign(webhookId, timestamp, body, target.Secrets));

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.Timeout);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            // Only the status code is reported, with its standard name: neither the receiver's reason
            // phrase nor its body is read, so a contact cannot be used to read what a service answers.
            var code = (int)response.StatusCode;
            var status = Enum.IsDefined(response.StatusCode) ? $"{code.ToString(CultureInfo.InvariantCulture)} ({response.StatusCode})" : code.ToString(CultureInfo.InvariantCulture);
            if (code is >= 200 and < 300)
            {
                return SendOutcome.Delivered;
            }

            if (code is >= 300 and < 400)
            {
                var location = response.Headers.Location is { } to ? $" to {Scope.Printable(to.IsAbsoluteUri ? WebhookTargetPolicy.Display(to) : to.OriginalString, 200)}" : "";
                return SendOutcome.Permanent($"The {shown} answered {status}, a redirect{location}; redirects are not followed: give the final URL (Add-AuditNotificationContact -WebhookUrl).");
            }

            if (code is 408 or 429 or >= 500)
            {
                return SendOutcome.Transient($"The {shown} answered {status}.") with { RetryAfter = RetryAfter(response, settings.MaxRetryAfter) };
            }

            return SendOutcome.Permanent($"The {shown} refused the request for good: {status}. Fix the receiver or the contact; it is not retried.");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return SendOutcome.Transient($"The {shown} did not answer within {settings.Timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s (Notifications:Webhooks:Timeout).");
        }
        catch (HttpRequestException ex) when (Find<WebhookTargetRefusedException>(ex) is { } refused)
        {
            return SendOutcome.Transient(refused.Message);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException)
        {
            var inner = Find<SocketException>(ex)?.Message ?? ex.Message;
            return SendOutcome.Transient($"Cannot reach the {shown}: {Scope.Printable(inner, 300)}");
        }
    }

    public void Dispose() => client.Dispose();

    /// <summary>The wait a 429 or 503 asks for (seconds or an HTTP date), at most <paramref name="max"/>; null when none is given.</summary>
    private TimeSpan? RetryAfter(HttpResponseMessage response, TimeSpan max)
    {
        var wait = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - time.GetUtcNow(),
            _ => (TimeSpan?)null,
        };
        return wait is null ? null : wait < TimeSpan.Zero ? TimeSpan.Zero : wait > max ? max : wait;
    }

    private static T? Find<T>(Exception? ex)
        where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is T found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>Resolves the host at every new connection, refuses it when any address is not allowed, and connects only to checked addresses.</summary>
    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        IPAddress[] addresses;
        try
        {
            addresses = await WebhookTargetPolicy.ResolveAsync(host, cancellationToken) ?? throw new WebhookTargetRefusedException($"The webhook host '{Scope.Printable(host, 200)}' no longer resolves to any address.");
        }
        catch (ArgumentException ex)
        {
            throw new WebhookTargetRefusedException(ex.Message, ex);
        }

        if (policy.FirstRefusal(host, addresses) is { } refusal)
        {
            throw new WebhookTargetRefusedException("Not sent: " + refusal);
        }

        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }
}
