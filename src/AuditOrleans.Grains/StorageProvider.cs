using System.ComponentModel.DataAnnotations;

namespace AuditOrleans.Grains;

public enum StorageProvider
{
    Sqlite,
    PostgreSql,
}
