using AuditOrleans.Grains;
using AuditOrleans.Grains.Storage;
using AuditOrleans.Silo.WebConsole;
using AuditOrleans.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace AuditOrleans.Cluster.Tests;

/// <summary>The console's server-side sessions (004-console-sessions.sql) on PostgreSQL, as two silos of a cluster see them.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresConsoleSessionTests(PostgresClusterFixture fixture)
{
    [PostgresFact]
    public async Task ASessionEndedOnOneSiloIsEndedOnTheOtherAndExpiredOnesArePurged()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var first = Database();
        using var second = Database();
        var onFirst = new ConsoleSessionStore(first, clock);
        var onSecond = new ConsoleSessionStore(second, clock);

        var session = await onFirst.CreateAsync("0123456789abcdef", TimeSpan.FromHours(12), CancellationToken.None);
        var other = await onFirst.CreateAsync("0123456789abcdef", TimeSpan.FromHours(1), CancellationToken.None);
        Assert.True(await onSecond.IsActiveAsync(session, CancellationToken.None));

        await onSecond.EndAsync(session, CancellationToken.None);
        Assert.False(await onFirst.IsActiveAsync(session, CancellationToken.None));
        Assert.True(await onFirst.IsActiveAsync(other, CancellationToken.None));

        // Past its lifetime a session is refused, and the next sign-in removes its row.
        clock.Advance(TimeSpan.FromHours(2));
        Assert.False(await onSecond.IsActiveAsync(other, CancellationToken.None));
        await onSecond.CreateAsync("fedcba9876543210", TimeSpan.FromHours(12), CancellationToken.None);
        await using var connection = await first.OpenAsync();
        await using var count = Db.Command(connection, null, "SELECT count(*) FROM console_sessions WHERE expires_at <= @now", ("@now", DbTime.ToMicros(clock.GetUtcNow())));
        Assert.Equal(0L, Convert.ToInt64(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
    }

    private AuditDatabase Database() => new(
        Options.Create(new AuditOrleansOptions { Storage = { Provider = StorageProvider.PostgreSql, ConnectionString = fixture.PostgresConnectionString } }),
        NullLogger<AuditDatabase>.Instance);
}
