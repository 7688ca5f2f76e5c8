using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditOrleans.Grains.Storage;

/// <summary>The SQL scripts of deploy/sql/, embedded in this assembly at build time.</summary>
internal static class SchemaScripts
{
    public static IReadOnlyList<(string Name, string Text)> Load(string provider)
    {
        var assembly = typeof(SchemaScripts).Assembly;
        var prefix = $"sql.{provider}/";
        var scripts = new List<(string, string)>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.Replace('\\', '/').StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            scripts.Add((name[prefix.Length..], reader.ReadToEnd()));
        }

        if (scripts.Count == 0)
        {
            throw new InvalidOperationException($"No schema scripts for '{provider}' are embedded in {assembly.GetName().Name}.");
        }

        return scripts;
    }
}
