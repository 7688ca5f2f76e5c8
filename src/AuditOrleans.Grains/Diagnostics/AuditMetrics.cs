using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AuditOrleans.Grains.Diagnostics;

/// <summary>
/// The engine's metrics: one <see cref="Meter"/> named <c>AuditOrleans</c>, exported by the silo
/// host on <c>/metrics</c> in Prometheus text format (names there: dots become underscores,
/// counters end in <c>_total</c>, the histogram in <c>_seconds_bucket/_sum/_count</c>).
/// Tags are low-cardinality only: region, alert, channel, outcome. Never a project id or a principal.
/// </summary>
public static class AuditMetrics
{
    public const string MeterName = "AuditOrleans";

    /// <summary>Region tag for rejected events whose locality names no known region.</summary>
    public const string UnknownRegion = "unknown";

    /// <summary>Bucket bounds of the ingestion latency histogram, in seconds.</summary>
    public static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public static readonly Meter Meter = new(MeterName, typeof(AuditMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> EventsAccepted = Meter.CreateCounter<long>(
        "auditorleans.events.accepted", "{event}", "Events stored in the audit log.");

    private static readonly Counter<long> EventsRejected = Meter.CreateCounter<long>(
        "auditorleans.events.rejected", "{event}", "Events refused by validation.");

    private static readonly Counter<long> EventsDuplicated = Meter.CreateCounter<long>(
        "auditorleans.events.duplicated", "{event}", "Events already stored (same id), counted once and not stored again.");

    private static readonly Counter<long> ForbiddenEvents = Meter.CreateCounter<long>(
        "auditorleans.events.forbidden", "{event}", "Stored events with status code 403.");

    private static readonly Counter<long> AlertsFired = Meter.CreateCounter<long>(
        "auditorleans.alerts.fired", "{alert}", "Alert firings recorded, per alert and region.");

    private static readonly Counter<long> NotificationsDelivered = Meter.CreateCounter<long>(
        "auditorleans.notifications.delivered", "{email}", "Alert emails delivered (one per firing and recipient).");

    private static readonly Counter<long> NotificationsFailed = Meter.CreateCounter<long>(
        "auditorleans.notifications.failed", "{attempt}", "Failed delivery attempts of alert emails (each retry counts).");

    private static readonly Counter<long> NotificationDeliveries = Meter.CreateCounter<long>(
        "auditorleans.notifications.deliveries", "{attempt}",
        "Delivery attempts of notices per channel (email, webhook) and outcome (delivered, retrying, failed: failed for good).");

    private static readonly Counter<long> DetectorActivations = Meter.CreateCounter<long>(
        "auditorleans.detector.activations", "{activation}", "Detector grain activations (each rebuilds its window from the log).");

    private static readonly Histogram<double> IngestDuration = Meter.CreateHistogram(
        "auditorleans.ingest.duration", "s", "Time to validate and durably store one batch of events.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    public static void RecordAccepted(string region, int count) => Add(EventsAccepted, count, "region", region);

    public static void RecordRejected(string region, int count) => Add(EventsRejected, count, "region", region);

    public static void RecordDuplicated(string region, int count) => Add(EventsDuplicated, count, "region", region);

    public static void RecordForbidden(string region, int count) => Add(ForbiddenEvents, count, "region", region);

    public static void RecordFired(AlertName alert, string region) =>
        AlertsFired.Add(1, new KeyValuePair<string, object?>("alert", alert.ToString()), new KeyValuePair<string, object?>("region", region));

    /// <summary>One alert email delivered to one recipient.</summary>
    public static void RecordDelivered(AlertName alert, string region) =>
        NotificationsDelivered.Add(1, new KeyValuePair<string, object?>("alert", alert.ToString()), new KeyValuePair<string, object?>("region", region));

    /// <summary>One failed delivery attempt; <paramref name="final"/> when no retry follows.</summary>
    public static void RecordDeliveryFailed(AlertName alert, string region, bool final) =>
        NotificationsFailed.Add(
            1,
            new KeyValuePair<string, object?>("alert", alert.ToString()),
            new KeyValuePair<string, object?>("region", region),
            new KeyValuePair<string, object?>("final", final ? "true" : "false"));

    /// <summary>Outcome tag: the notice reached its recipient.</summary>
    public const string Delivered = "delivered";

    /// <summary>Outcome tag: the attempt failed and another follows.</summary>
    public const string Retrying = "retrying";

    /// <summary>Outcome tag: the delivery failed for good (refused, or out of attempts).</summary>
    public const string Failed = "failed";

    /// <summary>One delivery attempt of a notice on <paramref name="channel"/> (email or webhook).</summary>
    public static void RecordDeliveryOutcome(string channel, string outcome) =>
        NotificationDeliveries.Add(1, new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("outcome", outcome));

    public static void RecordDetectorActivation(string region) => Add(DetectorActivations, 1, "region", region);

    /// <summary>Records the time since <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static void RecordIngestDuration(long startTimestamp) =>
        IngestDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    private static void Add(Counter<long> counter, int count, string tag, string value)
    {
        if (count > 0)
        {
            counter.Add(count, new KeyValuePair<string, object?>(tag, value));
        }
    }
}
