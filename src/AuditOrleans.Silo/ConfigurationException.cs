using AuditOrleans.Grains;
using System.Security.Cryptography.X509Certificates;
using AuditOrleans.Tls;
using Microsoft.Data.Sqlite;

namespace AuditOrleans.Silo;

/// <summary>The settings are not usable; the messages say which key and what to do.</summary>
public sealed class ConfigurationException(IReadOnlyList<string> errors)
    : Exception("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(static e => " - " + e)))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
