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

    /// <summary>Every problem of the settings: the engine's validator, then the TLS files read now.</summary>
    public static List<string> Validate(AuditOrleansOptions o)
    {
        var errors = AuditOrleansOptionsValidator.Check(o);
        CheckTls(errors, o.Tls);
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

    /// <summary>Reads the certificate files now, so that a wrong path or password stops the start with the setting's name (the host's part of the check).</summary>
    private static void CheckTls(List<string> errors, TlsOptions tls)
    {
        const string p = AuditOrleansOptions.SectionName + ":Tls";
        if (!tls.Enabled)
        {
            return; // what must hold without TLS is the engine validator's (AuditOrleansOptionsValidator)
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
}
