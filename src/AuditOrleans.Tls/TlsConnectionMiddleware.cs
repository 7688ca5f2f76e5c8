using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Orleans.Runtime.Messaging;

namespace AuditOrleans.Tls;

/// <summary>
/// TLS on an Orleans connection: runs the handshake over the connection's raw pipes, then hands
/// the rest of the pipeline (Orleans' own preamble and messages) a pipe over the encrypted
/// stream. One instance serves every connection of its kind (gateway, silo inbound, silo
/// outbound, client); per-connection state lives in locals.
/// </summary>
/// <remarks>
/// A refused or timed-out handshake closes the connection: a silo logs one warning naming the
/// peer and the reason and carries on; a client or outbound silo also throws
/// <see cref="TlsHandshakeException"/>, which Orleans reports as the connection's failure.
/// </remarks>
public sealed partial class TlsConnectionMiddleware : IConnectionMiddleware
{
    /// <summary>TLS 1.2 and 1.3 only.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Default time allowed for a handshake before the connection is closed.</summary>
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly bool isServer;
    private readonly string peer;
    private readonly SslStreamCertificateContext? localCertificate;
    private readonly X509Certificate2Collection? trusted;
    private readonly bool requirePeerCertificate;
    private readonly bool checkName;
    private readonly Func<EndPoint?, string> targetHost;
    private readonly TimeSpan handshakeTimeout;
    private readonly ILogger logger;

    private TlsConnectionMiddleware(
        bool isServer,
        string peer,
        X509Certificate2? certificate,
        X509Certificate2Collection? trusted,
        bool requirePeerCertificate,
        bool checkName,
        Func<EndPoint?, string> targetHost,
        TimeSpan handshakeTimeout,
        ILogger logger)
    {
        this.isServer = isServer;
        this.peer = peer;
        // Built once: the chain to send is the same for every connection.
        localCertificate = certificate is null ? null : SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
        this.trusted = trusted;
        this.requirePeerCertificate = requirePeerCertificate;
        this.checkName = checkName;
        this.targetHost = targetHost;
        this.handshakeTimeout = handshakeTimeout > TimeSpan.Zero ? handshakeTimeout : DefaultHandshakeTimeout;
        this.logger = logger;
    }

    /// <summary>The gateway's side of client connections: the silo's certificate; clients present none (they authenticate with API keys).</summary>
    public static TlsConnectionMiddleware ForGateway(X509Certificate2 certificate, TimeSpan handshakeTimeout, ILogger logger) =>
        new(isServer: true, "client", certificate, trusted: null, requirePeerCertificate: false, checkName: false, static _ => "", handshakeTimeout, logger);

    /// <summary>
    /// A silo accepting another silo: mutual TLS, the other silo must present a certificate that
    /// chains to <paramref name="trusted"/> (only those, never the system's roots).
    /// </summary>
    public static TlsConnectionMiddleware ForSiloInbound(X509Certificate2 certificate, X509Certificate2Collection trusted, TimeSpan handshakeTimeout, ILogger logger) =>
        new(isServer: true, "silo", certificate, trusted, requirePeerCertificate: true, checkName: false, static _ => "", handshakeTimeout, logger);

    /// <summary>
    /// A silo connecting to another silo: presents its certificate and accepts the other's only
    /// when it chains to <paramref name="trusted"/>. Silos are reached by IP address, so the
    /// trust anchors, not a host name, identify the cluster's silos.
    /// </summary>
    public static TlsConnectionMiddleware ForSiloOutbound(X509Certificate2 certificate, X509Certificate2Collection trusted, TimeSpan handshakeTimeout, ILogger logger) =>
        new(isServer: false, "silo", certificate, trusted, requirePeerCertificate: true, checkName: false, static e => HostOf(e), handshakeTimeout, logger);

    /// <summary>A client connecting to a gateway (see <see cref="TlsClientSettings"/>).</summary>
    public static TlsConnectionMiddleware ForClient(TlsClientSettings settings, ILogger logger) =>
        new(isServer: false, "gateway", certificate: null, settings.TrustedCertificates, requirePeerCertificate: true, checkName: true,
            endpoint => settings.ServerNameFor(endpoint), settings.HandshakeTimeout, logger);

    public async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        var transport = context.Transport;
        var remote = context.RemoteEndPoint;
        var host = isServer ? "" : targetHost(remote);
        string? refusal = null;
        var raw = new DuplexPipeStream(transport);
        var ssl = new SslStream(raw, leaveInnerStreamOpen: false);
        using var timeout = new CancellationTokenSource(handshakeTimeout);
        try
        {
            // A peer that stops talking mid-handshake: closing the socket ends every pending read.
            await using var abort = timeout.Token.UnsafeRegister(static c => ((ConnectionContext)c!).Abort(), context);
            RemoteCertificateValidationCallback? validate = requirePeerCertificate
                ? (_, certificate, chain, errors) => Accept(certificate, chain, errors, host, out refusal)
                : null;
            if (isServer)
            {
                await ssl.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = localCertificate,
                        ClientCertificateRequired = requirePeerCertificate,
                        EnabledSslProtocols = Protocols,
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                        CertificateChainPolicy = trusted is null ? null : TlsCertificates.CustomTrust(trusted, TlsCertificates.ClientAuthOid),
                        RemoteCertificateValidationCallback = validate,
                    },
                    timeout.Token);
            }
            else
            {
                await ssl.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = host,
                        ClientCertificateContext = localCertificate,
                        EnabledSslProtocols = Protocols,
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                        CertificateChainPolicy = trusted is null ? null : TlsCertificates.CustomTrust(trusted, TlsCertificates.ServerAuthOid),
                        RemoteCertificateValidationCallback = validate,
                    },
                    timeout.Token);
            }
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException or ObjectDisposedException or ConnectionAbortedException)
        {
            await ssl.DisposeAsync();
            var reason = refusal
                ?? (timeout.IsCancellationRequested ? $"no handshake within {handshakeTimeout.TotalSeconds:0.#} s"
                : ex is OperationCanceledException or ObjectDisposedException or ConnectionAbortedException ? "the connection closed during the handshake"
                : $"{ex.GetBaseException().Message.TrimEnd('.')} (is the other side using TLS, with the same settings?)");
            if (isServer)
            {
                if (refusal is null && !timeout.IsCancellationRequested && raw.BytesRead == 0)
                {
                    // Connected and left without a byte: a port check (load balancer, monitoring), not a TLS problem.
                    LogClosedBeforeHandshake(logger, peer, remote?.ToString() ?? "?");
                }
                else
                {
                    LogServerHandshakeFailed(logger, peer, remote?.ToString() ?? "?", reason);
                }

                return;
            }

            LogClientHandshakeFailed(logger, peer, remote?.ToString() ?? "?", reason);
            throw new TlsHandshakeException($"TLS handshake with the {peer} at {remote} failed: {reason}.", ex);
        }

        timeout.CancelAfter(Timeout.InfiniteTimeSpan);
        LogHandshakeDone(logger, peer, remote?.ToString() ?? "?", ssl.SslProtocol, ssl.NegotiatedCipherSuite);
        var input = PipeReader.Create(ssl, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true));
        var output = PipeWriter.Create(ssl, new StreamPipeWriterOptions(leaveOpen: true));
        context.Transport = new EncryptedPipe(input, output);
        try
        {
            await next(context);
        }
        finally
        {
            // Give Orleans back the raw pipes so that it closes the socket itself.
            context.Transport = transport;
            await input.CompleteAsync();
            await output.CompleteAsync();
            await ssl.DisposeAsync();
        }
    }

    private bool Accept(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, string host, out string? refusal)
    {
        if (!checkName)
        {
            errors &= ~SslPolicyErrors.RemoteCertificateNameMismatch;
        }

        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            refusal = $"the {peer} presented no certificate";
            return false;
        }

        if (errors == SslPolicyErrors.None)
        {
            refusal = null;
            return true;
        }

        var problems = new List<string>();
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            problems.Add($"it is not issued to '{host}' (give the name in the certificate)");
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            var status = chain?.ChainStatus.Select(static s => s.Status.ToString()).Distinct().ToList() ?? [];
            var anchors = trusted is null ? "is not issued by an authority this machine trusts" : "does not chain to the trusted certificates configured";
            problems.Add($"it {anchors}{(status.Count > 0 ? $" ({string.Join(", ", status)})" : "")}");
        }

        refusal = $"the {peer}'s certificate {TlsCertificates.Describe(certificate)} was refused: {string.Join("; ", problems)}";
        return false;
    }

    private static string HostOf(EndPoint? endpoint) => endpoint switch
    {
        IPEndPoint ip => ip.Address.ToString(),
        DnsEndPoint dns => dns.Host,
        _ => "localhost",
    };

    internal static string DefaultHost(EndPoint? endpoint) => HostOf(endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TLS handshake with the {Peer} at {Remote} refused, connection closed: {Reason}")]
    private static partial void LogServerHandshakeFailed(ILogger logger, string peer, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TLS handshake with the {Peer} at {Remote} failed, connection closed: {Reason}")]
    private static partial void LogClientHandshakeFailed(ILogger logger, string peer, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The {Peer} at {Remote} closed the connection before sending anything (a port check?)")]
    private static partial void LogClosedBeforeHandshake(ILogger logger, string peer, string remote);

    [LoggerMessage(Level = LogLevel.Debug, Message = "TLS with the {Peer} at {Remote}: {Protocol}, {CipherSuite}")]
    private static partial void LogHandshakeDone(ILogger logger, string peer, string remote, SslProtocols protocol, TlsCipherSuite cipherSuite);

    private sealed record EncryptedPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
