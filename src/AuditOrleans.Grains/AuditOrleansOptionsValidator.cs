using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains;

/// <summary>
/// The one check of the <c>AuditOrleans</c> settings (docs/configuration.md): every problem,
/// each naming its key and what to do. The host runs it when it reads the configuration, before
/// anything starts, and the options pipeline runs it again at start
/// (<c>ValidateOnStart</c>) wherever the engine is hosted. Values are never clamped where they
/// are used: a value out of range stops the start with its message.
/// </summary>
public sealed class AuditOrleansOptionsValidator : IValidateOptions<AuditOrleansOptions>
{
    /// <summary>Longest Alerts:GroupInterval: a digest later than a day would no longer be an alert.</summary>
    public static readonly TimeSpan MaxGroupInterval = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, AuditOrleansOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = Check(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Every problem of the settings, each naming its key and what to do; empty when they are usable.</summary>
    public static List<string> Check(AuditOrleansOptions o)
    {
        const string p = AuditOrleansOptions.SectionName;
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.Storage.ConnectionString))
        {
            errors.Add($"{p}:Storage:ConnectionString is empty: give an ADO.NET connection string (default 'Data Source=data/auditorleans.db').");
        }
        else if (o.Storage.Provider == StorageProvider.Sqlite)
        {
            try
            {
                _ = new SqliteConnectionStringBuilder(o.Storage.ConnectionString);
            }
            catch (ArgumentException)
            {
                errors.Add($"{p}:Storage:ConnectionString is not a valid SQLite connection string: use 'Data Source=path/to/file.db'.");
            }
        }

        if (o.Cluster.Mode == ClusterMode.AdoNet && o.Storage.Provider == StorageProvider.Sqlite)
        {
            errors.Add($"{p}:Cluster:Mode=AdoNet needs a shared database: set {p}:Storage:Provider=PostgreSql (SQLite is a single-silo store).");
        }

        if (o.CheckpointKey is { Length: > 0 } checkpointKey)
        {
            var hex = checkpointKey.Trim();
            if (hex.Length < 64 || hex.Length % 2 != 0 || !hex.All(Uri.IsHexDigit))
            {
                errors.Add($"{p}:CheckpointKey must be at least 64 hex digits (32 bytes): generate one with 'openssl rand -hex 32' and give every silo the same.");
            }
        }
        else if (o.Cluster.Mode == ClusterMode.AdoNet)
        {
            errors.Add($"{p}:CheckpointKey is not set: in a cluster every silo signs the log's checkpoints, so all of them need the same key (generate one with 'openssl rand -hex 32').");
        }

        CheckPort(errors, $"{p}:Cluster:SiloPort", o.Cluster.SiloPort);
        CheckPort(errors, $"{p}:Cluster:GatewayPort", o.Cluster.GatewayPort);
        if (o.Cluster.SiloPort == o.Cluster.GatewayPort)
        {
            errors.Add($"{p}:Cluster:SiloPort and GatewayPort are both {o.Cluster.SiloPort}: give them different ports.");
        }

        if (string.IsNullOrWhiteSpace(o.Cluster.ClusterId) || string.IsNullOrWhiteSpace(o.Cluster.ServiceId))
        {
            errors.Add($"{p}:Cluster:ClusterId and ServiceId must not be empty (default 'auditorleans').");
        }

        if (o.Cluster.AdvertisedIPAddress is { Length: > 0 } ip && !System.Net.IPAddress.TryParse(ip, out _))
        {
            errors.Add($"{p}:Cluster:AdvertisedIPAddress '{ip}' is not an IP address.");
        }

        if (!string.IsNullOrWhiteSpace(o.Smtp.Host))
        {
            CheckPort(errors, $"{p}:Smtp:Port", o.Smtp.Port);
        }
        else if (string.IsNullOrWhiteSpace(o.Smtp.PickupDirectory))
        {
            errors.Add($"{p}:Smtp:PickupDirectory is empty while no Smtp:Host is set: give a directory for .eml files, or an SMTP host.");
        }

        if (string.IsNullOrWhiteSpace(o.Smtp.From) || !MimeAddressLooksValid(o.Smtp.From))
        {
            errors.Add($"{p}:Smtp:From '{o.Smtp.From}' is not an email address: use 'Name <address@example.com>' or 'address@example.com'.");
        }

        if (o.Smtp.InitialRetryDelay <= TimeSpan.Zero || o.Smtp.MaxRetryDelay < o.Smtp.InitialRetryDelay)
        {
            errors.Add($"{p}:Smtp:InitialRetryDelay must be positive and MaxRetryDelay at least as long (e.g. 00:00:05 and 00:10:00).");
        }

        if (o.Smtp.MaxAttempts < 1)
        {
            errors.Add($"{p}:Smtp:MaxAttempts must be at least 1.");
        }

        if (!Uri.TryCreate(o.Console.BaseUrl, UriKind.Absolute, out var baseUrl) || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{p}:Console:BaseUrl '{o.Console.BaseUrl}' is not an absolute http(s) URL: use e.g. https://audit.example.com.");
        }

        if (!string.IsNullOrEmpty(o.Console.GrafanaDashboardUrl)
            && (!Uri.TryCreate(o.Console.GrafanaDashboardUrl, UriKind.Absolute, out var grafana) || (grafana.Scheme != Uri.UriSchemeHttp && grafana.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"{p}:Console:GrafanaDashboardUrl '{o.Console.GrafanaDashboardUrl}' is not an absolute http(s) URL: use e.g. https://grafana.example.com/d/auditorleans.");
        }

        if (o.Regions.Count == 0)
        {
            errors.Add($"{p}:Regions is empty: list the regions, e.g. 'fr-par, nl-ams, pl-waw'.");
        }

        foreach (var region in o.Regions)
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(region, "^[a-z]{2}-[a-z]{3}\\z"))
            {
                errors.Add($"{p}:Regions: '{region}' is not a region name like fr-par (two letters, '-', three letters).");
            }
        }

        if (o.Regions.Count > 0 && !o.Regions.Contains(Scope.GlobalRegion))
        {
            errors.Add($"{p}:Regions must include {Scope.GlobalRegion}: global events are routed there.");
        }

        if (o.Retention.Days < 0)
        {
            errors.Add($"{p}:Retention:Days is {o.Retention.Days}: use 0 to keep events forever, or a number of days.");
        }

        if (o.Retention.PurgeInterval <= TimeSpan.Zero)
        {
            errors.Add($"{p}:Retention:PurgeInterval must be positive (e.g. 01:00:00).");
        }

        if (o.Alerts.EpisodeRepeatInterval <= TimeSpan.Zero)
        {
            errors.Add($"{p}:Alerts:EpisodeRepeatInterval must be positive (default 00:10:00: at most one update of an HttpForbiddenErrorRateHigh episode every 10 minutes).");
        }

        if (o.Alerts.LatenessThreshold <= TimeSpan.Zero)
        {
            errors.Add($"{p}:Alerts:LatenessThreshold must be positive (default 00:15:00: an event stored more than 15 minutes after its recorded_at came late).");
        }

        CheckTlsSettings(errors, o.Tls);
        if (o.Security.FailedKeyChecksPerSource < 1 || o.Security.FailedKeyChecksPerKey < 1)
        {
            errors.Add($"{p}:Security:FailedKeyChecksPerSource and FailedKeyChecksPerKey must be at least 1 (defaults 20 and 10 failed API-key checks a minute).");
        }

        if (o.Security.KeyCacheSeconds is < 0 or > 3600)
        {
            errors.Add($"{p}:Security:KeyCacheSeconds is {o.Security.KeyCacheSeconds}: use 0 (no cache) to 3600 seconds (default 30; a key revoked on another silo works there for this long).");
        }

        if (o.Security.IngestEventsPerSecond < 0)
        {
            errors.Add($"{p}:Security:IngestEventsPerSecond is {o.Security.IngestEventsPerSecond}: use 0 to turn the limit off, or events per second per API key (default 2000).");
        }

        if (o.Security.IngestBurst < 1)
        {
            errors.Add($"{p}:Security:IngestBurst is {o.Security.IngestBurst}: use at least 1, and at least {IngestLimits.MaxBatchEvents} so that a full batch fits (default 10000).");
        }

        if (o.Smtp.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{p}:Smtp:Timeout must be positive (e.g. 00:00:30).");
        }

        if (o.Alerts.GroupInterval < TimeSpan.Zero || o.Alerts.GroupInterval > MaxGroupInterval)
        {
            errors.Add($"{p}:Alerts:GroupInterval is {o.Alerts.GroupInterval}: use 00:00:00 (no grouping: one email per match) up to 1.00:00:00 (default 00:05:00).");
        }

        CheckWebhooks(errors, o.Notifications.Webhooks);

        if (o.Alerts.MaxEmailsPerContactPerHour < 0)
        {
            errors.Add($"{p}:Alerts:MaxEmailsPerContactPerHour is {o.Alerts.MaxEmailsPerContactPerHour}: use 0 (no cap) or the most emails a contact may receive in an hour (default 20).");
        }

        return errors;
    }

    /// <summary>Webhook delivery settings (docs/webhooks.md).</summary>
    private static void CheckWebhooks(List<string> errors, WebhookOptions webhooks)
    {
        const string p = AuditOrleansOptions.SectionName + ":Notifications:Webhooks";
        if (webhooks.Timeout <= TimeSpan.Zero || webhooks.Timeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{p}:Timeout is {webhooks.Timeout}: use a positive time up to 00:05:00 (default 00:00:10).");
        }

        if (webhooks.InitialRetryDelay <= TimeSpan.Zero || webhooks.MaxRetryDelay < webhooks.InitialRetryDelay)
        {
            errors.Add($"{p}:InitialRetryDelay must be positive and MaxRetryDelay at least as long (e.g. 00:00:05 and 00:10:00).");
        }

        if (webhooks.MaxRetryAfter < TimeSpan.Zero || webhooks.MaxRetryAfter > TimeSpan.FromDays(1))
        {
            errors.Add($"{p}:MaxRetryAfter is {webhooks.MaxRetryAfter}: use 00:00:00 (ignore Retry-After) up to 1.00:00:00 (default 01:00:00).");
        }

        if (webhooks.MaxAttempts < 1)
        {
            errors.Add($"{p}:MaxAttempts must be at least 1 (default 50).");
        }

        if (webhooks.RotationGracePeriod < TimeSpan.Zero || webhooks.RotationGracePeriod > WebhookSecretLimits.MaxGracePeriod)
        {
            errors.Add($"{p}:RotationGracePeriod is {webhooks.RotationGracePeriod}: use 00:00:00 (the old secret stops at once) up to 7.00:00:00 (default 1.00:00:00).");
        }
    }

    /// <summary>TLS settings that contradict each other (the certificate files themselves are read by the host at start).</summary>
    private static void CheckTlsSettings(List<string> errors, TlsOptions tls)
    {
        const string p = AuditOrleansOptions.SectionName + ":Tls";
        if (!tls.Enabled && (!string.IsNullOrEmpty(tls.CertificateKeyPath) || !string.IsNullOrEmpty(tls.CertificatePassword) || !string.IsNullOrEmpty(tls.TrustedCertificatePath)))
        {
            // A key, password or trust file without a certificate would suggest encryption that is not there.
            errors.Add($"{p}:CertificateKeyPath, CertificatePassword or TrustedCertificatePath is set but {p}:CertificatePath is not: give the silo's certificate to turn TLS on, or remove them.");
        }

        if (tls.Enabled && tls.HandshakeTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{p}:HandshakeTimeout must be positive (e.g. 00:00:10).");
        }
    }

    private static void CheckPort(List<string> errors, string key, int port)
    {
        if (port is < 1 or > 65535)
        {
            errors.Add($"{key} is {port}: use a TCP port from 1 to 65535.");
        }
    }

    private static bool MimeAddressLooksValid(string from)
    {
        var text = from.Trim();
        var lt = text.LastIndexOf('<');
        if (lt >= 0 && text.EndsWith('>'))
        {
            text = text[(lt + 1)..^1];
        }

        return System.Net.Mail.MailAddress.TryCreate(text, out _);
    }
}
