using System.Security.Authentication;

namespace AuditOrleans.Tls;

/// <summary>The TLS handshake of a connection failed; the message names the peer and the reason.</summary>
public sealed class TlsHandshakeException(string message, Exception? innerException = null) : AuthenticationException(message, innerException);
