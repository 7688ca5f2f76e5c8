namespace AuditOrleans.Bench;

/// <summary>A grain that holds nothing: what an Orleans activation costs by itself.</summary>
[Alias("AuditOrleans.Bench.IEmptyGrain")]
public interface IEmptyGrain : IGrainWithStringKey
{
    /// <summary>Activates the grain (first call) and returns.</summary>
    [Alias("PingAsync")]
    Task PingAsync();
}

/// <summary>The empty grain: no state, no fields.</summary>
public sealed class EmptyGrain : Grain, IEmptyGrain
{
    public Task PingAsync() => Task.CompletedTask;
}
