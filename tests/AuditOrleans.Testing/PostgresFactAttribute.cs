using Xunit;

namespace AuditOrleans.Testing;

/// <summary>
/// A test that needs a PostgreSQL server: skipped with the reason where PostgreSQL is not
/// installed, unless <see cref="PostgresServer.RequireVariable"/> is 1 (CI), where it runs and
/// fails with that reason.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (!PostgresServer.Required && PostgresServer.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }
}
