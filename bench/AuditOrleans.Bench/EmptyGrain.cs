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

/// <summary>
/// Activates grains from inside the silo, as the ingestion grain activates detectors, so that
/// the client's own caches (one entry per grain it calls) stay out of the memory figures.
/// </summary>
[Alias("AuditOrleans.Bench.IActivatorGrain")]
public interface IActivatorGrain : IGrainWithIntegerKey
{
    /// <summary>Activates empty grains <c>{prefix}-{i}</c> for i in [from, from + count).</summary>
    [Alias("PingEmptyAsync")]
    Task PingEmptyAsync(string prefix, int from, int count);

    /// <summary>Activates the alert configuration grains of the given project-region keys.</summary>
    [Alias("ReadConfigsAsync")]
    Task ReadConfigsAsync(IReadOnlyList<string> keys);
}

/// <summary>Fans calls out from inside the silo, a bounded number at a time.</summary>
[Orleans.Concurrency.StatelessWorker]
public sealed class ActivatorGrain : Grain, IActivatorGrain
{
    private const int Parallel = 64;

    public Task PingEmptyAsync(string prefix, int from, int count) =>
        FanOutAsync(count, i => GrainFactory.GetGrain<IEmptyGrain>($"{prefix}-{from + i:D7}").PingAsync());

    public Task ReadConfigsAsync(IReadOnlyList<string> keys) =>
        FanOutAsync(keys.Count, i => GrainFactory.GetGrain<IAlertConfigGrain>(keys[i]).GetAsync());

    private static Task FanOutAsync(int count, Func<int, Task> call)
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, Math.Min(Parallel, count)).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await call(i);
            }
        }));
    }
}
