namespace AuditOrleans.Grains;

public enum StorageProvider
{
    Sqlite,
    PostgreSql,
}
