namespace AuditOrleans.Testing;

/// <summary>
/// A test cluster whose silos send alert emails over SMTP to a <see cref="SmtpTestServer"/>
/// on 127.0.0.1 (started before the cluster, so its port is in the settings). Retries start
/// at 5 s and double; a delivery fails after <see cref="MaxAttempts"/> attempts.
/// </summary>
public class SmtpClusterFixture : AuditClusterFixture
{
    public const string ConsoleBaseUrl = "https://console.example.test/base";

    public const string From = "AuditOrleans Alerts <alerts@auditorleans.test>";

    public const int MaxAttempts = 3;

    public static readonly TimeSpan InitialRetryDelay = TimeSpan.FromSeconds(5);

    public SmtpTestServer Smtp { get; } = new();

    protected override IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        new("Smtp:Host", "127.0.0.1"),
        new("Smtp:Port", Smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Smtp:Security", "None"),
        new("Smtp:From", From),
        new("Smtp:InitialRetryDelay", InitialRetryDelay.ToString()),
        new("Smtp:MaxRetryDelay", "00:01:00"),
        new("Smtp:MaxAttempts", MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Smtp:Timeout", "00:00:10"),
        new("Console:BaseUrl", ConsoleBaseUrl),
    ];

    /// <summary>A recipient address no other test uses.</summary>
    public static string NewAddress(string prefix = "security") => $"{prefix}-{Guid.NewGuid():N}@example.com";

    public override async Task InitializeAsync()
    {
        Smtp.Start();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Smtp.DisposeAsync();
    }
}
