namespace AuditOrleans.Grains;

public sealed class SecurityOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>An Owner key to register at start (form ao_&lt;16 hex&gt;_&lt;secret&gt;); never logged. Without it, a generated key is written to {DataDirectory}/owner.key at first start.</summary>
    public string? BootstrapApiKey { get; set; }

    /// <summary>How long a validated (or refused) key stays cached on a silo; a key revoked elsewhere stops working within this time.</summary>
    public int KeyCacheSeconds { get; set; } = 30;

    /// <summary>Events per second each API key may send to one silo (token bucket); 0 turns the limit off.</summary>
    public int IngestEventsPerSecond { get; set; } = 2000;

    /// <summary>Bucket size: events a key may send at once after a pause. At least the largest batch (5000).</summary>
    public int IngestBurst { get; set; } = 10_000;

    /// <summary>Failed API-key checks one source (client address) may make in a minute before its checks are refused unchecked for the rest of it.</summary>
    public int FailedKeyChecksPerSource { get; set; } = 20;

    /// <summary>Failed checks of one key id in a minute after which that key is refused from any source that has itself failed recently.</summary>
    public int FailedKeyChecksPerKey { get; set; } = 10;
}
