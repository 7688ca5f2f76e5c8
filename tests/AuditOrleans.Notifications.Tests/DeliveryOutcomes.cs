using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AuditOrleans.Grains.Diagnostics;

namespace AuditOrleans.Notifications.Tests;

/// <summary>Counts the auditorleans.notifications.deliveries measurements (channel, outcome) made while it lives.</summary>
internal sealed class DeliveryOutcomes : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly ConcurrentDictionary<(string Channel, string Outcome), long> counts = new();

    public DeliveryOutcomes()
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == AuditMetrics.MeterName && instrument.Name == "auditorleans.notifications.deliveries")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? channel = null, outcome = null;
            foreach (var tag in tags)
            {
                channel = tag.Key == "channel" ? tag.Value as string : channel;
                outcome = tag.Key == "outcome" ? tag.Value as string : outcome;
            }

            counts.AddOrUpdate((channel ?? "", outcome ?? ""), value, (_, total) => total + value);
        });
        listener.Start();
    }

    public long Count(string channel, string outcome) => counts.GetValueOrDefault((channel, outcome));

    public void Dispose() => listener.Dispose();
}
