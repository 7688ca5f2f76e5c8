namespace AuditOrleans.Tls;

/// <summary>A certificate file of the TLS settings cannot be used; the message says why and what to do.</summary>
public sealed class TlsCertificateException(string message, Exception? innerException = null) : Exception(message, innerException);
