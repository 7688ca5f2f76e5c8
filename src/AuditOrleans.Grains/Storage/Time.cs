namespace AuditOrleans.Grains.Storage;

/// <summary>Timestamps in the database: microseconds since 1970-01-01 UTC, the same in every provider.</summary>
public static class DbTime
{
    public static long ToMicros(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static DateTimeOffset FromMicros(long micros) => new(DateTimeOffset.UnixEpoch.UtcTicks + (micros * 10), TimeSpan.Zero);
}
