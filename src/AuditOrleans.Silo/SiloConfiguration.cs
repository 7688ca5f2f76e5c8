using AuditOrleans.Grains;
using System.Security.Cryptography.X509Certificates;
using AuditOrleans.Tls;
using Microsoft.Data.Sqlite;

namespace AuditOrleans.Silo;

/// <summary>Reads and checks the <c>AuditOrleans</c> section before anything starts.</summary>
public static class SiloConfiguration
{
    /// <summary>Binds the section; throws <see cref="ConfigurationException"/> with every problem found.</summary>
    public static AuditOrleansOptions Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(AuditOrleansOptions.SectionName);
        var options = new AuditOrleansOptions();
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key and the type ("Failed to convert configuration value at 'AuditOrleans:Cluster:GatewayPort' to type 'System.Int32'").
            throw new ConfigurationException([ex.Message + " Fix the value in appsettings.json, the environment or the command line."]);
        }

        Apply(section, options);
        var errors = Validate(options);
        return errors.Count > 0 ? throw new ConfigurationException(errors) : options;
    }

    /// <summary>Settings the binder cannot express: Regions as a comma-separated list replaces the default list.</summary>
    public static void Apply(IConfigurationSection section, AuditOrleansOptions options)
    {
        var regions = section.GetSection("Regions");
        if (regions.Value is { } text)
        {
            options.Regions = [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(static r => r.ToLowerInvariant())];
        }
        else if (regions.GetChildren().Any())
        {
            options.Regions = [.. regions.GetChildren().Select(static c => c.Value?.Trim().ToLowerInvariant() ?? "").Where(static r => r.Length > 0)];
        }
        else
        {
            options.Regions = [.. Scope.DefaultRegions];
        }

        options.Regions = [.. options.Regions.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Every problem of the settings, each naming its key and what to do.</summary>
    public static List<string> Validate(AuditOrleansOptions o)
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

        CheckTls(errors, o.Tls);
        if (o.Security.FailedKeyChecksPerSource < 1 || o.Security.FailedKeyChecksPerKey < 1)
        {
            errors.Add($"{p}:Security:FailedKeyChecksPerSource and FailedKeyChecksPerKey must be at least 1 (defaults 20 and 10 failed API-key checks a minute).");
        }

        return errors;
    }

    /// <summary>A short description of the storage for logs: never the connection string itself.</summary>
    public static string DescribeStorage(AuditOrleansOptions o)
    {
        if (o.Storage.Provider == StorageProvider.Sqlite)
        {
            return $"Sqlite ({new SqliteConnectionStringBuilder(o.Storage.ConnectionString).DataSource})";
        }

        var builder = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = o.Storage.ConnectionString };
        builder.TryGetValue("Host", out var host);
        builder.TryGetValue("Database", out var database);
        return $"PostgreSql ({host ?? "?"}/{database ?? "?"})";
    }

    /// <summary>Reads the certificate files now, so that a wrong path or password stops the start with the setting's name.</summary>
    private static void CheckTls(List<string> errors, TlsOptions tls)
    {
        const string p = AuditOrleansOptions.SectionName + ":Tls";
        if (!tls.Enabled)
        {
            // A key, password or trust file without a certificate would suggest encryption that is not there.
            if (!string.IsNullOrEmpty(tls.CertificateKeyPath) || !string.IsNullOrEmpty(tls.CertificatePassword) || !string.IsNullOrEmpty(tls.TrustedCertificatePath))
            {
                errors.Add($"{p}:CertificateKeyPath, CertificatePassword or TrustedCertificatePath is set but {p}:CertificatePath is not: give the silo's certificate to turn TLS on, or remove them.");
            }

            return;
        }

        if (tls.HandshakeTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{p}:HandshakeTimeout must be positive (e.g. 00:00:10).");
        }

        X509Certificate2? certificate = null;
        try
        {
            certificate = TlsCertificates.LoadCertificate(tls.CertificatePath!, tls.CertificateKeyPath, tls.CertificatePassword);
        }
        catch (TlsCertificateException ex)
        {
            var keys = string.IsNullOrEmpty(tls.CertificateKeyPath) ? $"{p}:CertificatePath" : $"{p}:CertificatePath/CertificateKeyPath";
            errors.Add($"{keys} (with {p}:CertificatePassword if the file has one): {ex.Message}");
        }

        X509Certificate2Collection? trusted = null;
        if (tls.TrustedCertificatePath is { Length: > 0 } trustedPath)
        {
            try
            {
                trusted = TlsCertificates.LoadTrusted(trustedPath);
            }
            catch (TlsCertificateException ex)
            {
                errors.Add($"{p}:TrustedCertificatePath: {ex.Message}");
            }
        }

        if (certificate is not null && (trusted is not null || string.IsNullOrEmpty(tls.TrustedCertificatePath)))
        {
            // Silos check each other against the trusted certificates, by default this silo's own:
            // a certificate that would not pass its own check could never join its cluster.
            if (trusted is null && !certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
            {
                errors.Add($"{p}:TrustedCertificatePath is needed: the silo's certificate {TlsCertificates.Describe(certificate)} is issued by '{certificate.Issuer}', so give that authority's certificate (PEM) for silos to trust each other.");
            }
            else if (TlsCertificates.SiloTrustProblem(certificate, trusted) is { } problem)
            {
                errors.Add($"{p}:TrustedCertificatePath: the silo's own certificate would be refused by the other silos ({problem}): give the authority that issued it.");
            }
        }

        certificate?.Dispose();
        if (trusted is not null)
        {
            foreach (var c in trusted)
            {
                c.Dispose();
            }
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

/// <summary>The settings are not usable; the messages say which key and what to do.</summary>
public sealed class ConfigurationException(IReadOnlyList<string> errors)
    : Exception("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(static e => " - " + e)))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
