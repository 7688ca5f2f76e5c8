namespace AuditOrleans.Grains;

public enum SmtpSecurity
{
    None,
    StartTls,
    SslOnConnect,
    Auto,
}
