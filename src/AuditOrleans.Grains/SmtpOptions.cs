namespace AuditOrleans.Grains;

public sealed class SmtpOptions
{
    /// <summary>SMTP server; empty means emails are written to <see cref="PickupDirectory"/>.</summary>
    public string? Host { get; set; }
    public int Port { get; set; } = 25;

    public SmtpSecurity Security { get; set; } = SmtpSecurity.Auto;

    public string? Username { get; set; }

    /// <summary>Never logged.</summary>
    public string? Password { get; set; }

    public string From { get; set; } = "AuditOrleans <auditorleans@localhost>";

    public string PickupDirectory { get; set; } = "data/outbox";

    /// <summary>Delay before the first retry; doubled at each failure up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Attempts before a delivery is marked failed.</summary>
    public int MaxAttempts { get; set; } = 50;

    /// <summary>Time allowed for one SMTP conversation.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}
