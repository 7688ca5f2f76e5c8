namespace AuditOrleans.Grains;

public sealed class StorageOptions
{
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>ADO.NET connection string; never logged.</summary>
    public string ConnectionString { get; set; } = "Data Source=data/auditorleans.db";

    public bool ApplySchema { get; set; } = true;
}
