using System.Data.Common;

namespace AuditOrleans.Grains.Storage;

/// <summary>
/// A read connection lent by <see cref="AuditDatabase.RentReaderAsync"/>: disposing the lease
/// gives the connection back (SQLite: to the silo's own small pool; PostgreSQL: closes it into
/// Npgsql's pool). Use it for one read and do not keep it.
/// </summary>
public readonly struct ReadLease(AuditDatabase database, DbConnection connection) : IAsyncDisposable
{
    public DbConnection Connection => connection;

    public ValueTask DisposeAsync() => database.ReturnReaderAsync(connection);
}
