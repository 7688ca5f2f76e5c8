using System.Xml.Linq;
using AuditOrleans.Grains.Storage;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// The console's data-protection key ring in the silos' database (table <c>console_keys</c>,
/// deploy/sql/*/003-console.sql), so that a session cookie made by one silo opens the console
/// on every other silo of the cluster (behind a load balancer without sticky sessions) and
/// survives restarts. Keys are only ever added: data protection retires them by writing newer
/// ones, never by changing a stored element.
/// </summary>
/// <remarks>
/// Data protection calls this synchronously and rarely (at start and when the key ring is
/// refreshed, about once a day), so the blocking waits on the database are not on a hot path.
/// </remarks>
public sealed class DatabaseKeyRepository(AuditDatabase database, TimeProvider time) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = database.OpenAsync().GetAwaiter().GetResult();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT xml FROM console_keys ORDER BY created_at, name";
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        var name = string.IsNullOrWhiteSpace(friendlyName) ? Guid.NewGuid().ToString("N") : friendlyName;
        var xml = element.ToString(SaveOptions.DisableFormatting);
        database.WriteAsync(async (connection, transaction) =>
        {
            await using var insert = Db.Command(connection, transaction,
                "INSERT INTO console_keys (name, xml, created_at) VALUES (@name, @xml, @created) ON CONFLICT (name) DO NOTHING",
                ("@name", name), ("@xml", xml), ("@created", DbTime.ToMicros(time.GetUtcNow())));
            return await insert.ExecuteNonQueryAsync();
        }).GetAwaiter().GetResult();
    }
}
