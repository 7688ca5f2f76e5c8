using System.Globalization;
using System.Text;

namespace AuditOrleans.PowerShell;

/// <summary>
/// A fired alert, as Get-AuditAlertHistory and Test-AuditAlert show it: when, what behaviour,
/// how severe, who was told, whether the emails went out, and the link to the audit log.
/// </summary>
public sealed class AuditAlertFiring
{
    public required string Id { get; init; }

    /// <summary>When the engine detected the condition (UTC).</summary>
    public required DateTimeOffset TriggeredAt { get; init; }

    /// <summary>The alert's name.</summary>
    public required string Name { get; init; }

    public required AlertSeverity Severity { get; init; }

    public required string ProjectId { get; init; }

    public required string Region { get; init; }

    /// <summary>The behaviour detected: the alert's description and the facts of this firing.</summary>
    public required string Behaviour { get; init; }

    /// <summary>Firing, or for an HttpForbiddenErrorRateHigh episode Update (it goes on and changed) or Resolved (it is over).</summary>
    public AlertKind Kind { get; init; }

    /// <summary>The HttpForbiddenErrorRateHigh episode: the id of the firing that opened it.</summary>
    public string? EpisodeId { get; init; }

    /// <summary>True when caused by events sent as history (Send-AuditEvent -Historical): recorded, never emailed.</summary>
    public bool IsBackfill { get; init; }

    /// <summary>True when its event was stored more than Alerts:LatenessThreshold after it happened (EventTime).</summary>
    public bool IsLate { get; init; }

    /// <summary>An update's reason: what changed since the episode's last notice.</summary>
    public string? Change { get; init; }

    /// <summary>recorded_at of the episode's first 403 (updates and resolved notices).</summary>
    public DateTimeOffset? FirstEventTime { get; init; }

    /// <summary>Summary of the deliveries: Delivered, Pending, Retrying, Failed, Silenced, NoRecipients, or Backfill (history only, never sent).</summary>
    public required string DeliveryStatus { get; init; }

    /// <summary>The Security contacts the alert went to.</summary>
    public required string[] Recipients { get; init; }

    /// <summary>The audit log filtered on the project, region and timeframe of the firing.</summary>
    public required string Link { get; init; }

    /// <summary>The console's incident timeline of the firing: the 403 rate, the implicated principals' and source IPs' events, API keys and notices on one time axis.</summary>
    public required string TimelineLink { get; init; }

    /// <summary>True for a Test-AuditAlert notification.</summary>
    public bool IsTest { get; init; }

    public DateTimeOffset EventTime { get; init; }

    public DateTimeOffset WindowStart { get; init; }

    public DateTimeOffset WindowEnd { get; init; }

    public int? ForbiddenCount { get; init; }

    public string? EventId { get; init; }

    public string? ApiKeyId { get; init; }

    public string? PrincipalId { get; init; }

    public string? SourceIp { get; init; }

    public string? TopPrincipals { get; init; }

    public string? TopSourceIps { get; init; }

    public required AuditAlertDelivery[] Deliveries { get; init; }

    /// <summary>Open, Taken, Closed or Silenced (a silence held it: nobody was emailed).</summary>
    public FiringStatus Status { get; init; }

    /// <summary>The silence that held it (Get-AuditAlertSilence), if one did.</summary>
    public string? SilenceId { get; init; }

    /// <summary>The API key that last took it (Confirm-AuditAlertFiring).</summary>
    public string? TakenBy { get; init; }

    public DateTimeOffset? TakenAt { get; init; }

    public string? TakeComment { get; init; }

    /// <summary>The API key that closed it (Close-AuditAlertFiring).</summary>
    public string? ClosedBy { get; init; }

    public DateTimeOffset? ClosedAt { get; init; }

    public string? CloseComment { get; init; }

    /// <summary>Every step: who took or closed it, when, with which comment, oldest first.</summary>
    public FiringAcknowledgement[] Acknowledgements { get; init; } = [];

    internal static AuditAlertFiring From(FiredAlert fired, string consoleUrl)
    {
        var facts = fired.Facts;
        var definition = AlertCatalog.Describe(fired);
        var taken = fired.Acknowledgements.LastOrDefault(static a => a.Action == FiringAction.Taken);
        var closed = fired.Acknowledgements.LastOrDefault(static a => a.Action == FiringAction.Closed);
        return new AuditAlertFiring
        {
            Id = fired.Id,
            TriggeredAt = fired.TriggeredAt,
            Name = AlertCatalog.DisplayName(fired),
            Severity = fired.Severity,
            ProjectId = fired.ProjectId,
            Region = fired.Region,
            Behaviour = DescribeBehaviour(definition, fired),
            DeliveryStatus = fired.IsBackfill ? "Backfill" : Summarize(fired.Deliveries),
            Kind = fired.Kind,
            EpisodeId = fired.EpisodeId,
            IsBackfill = fired.IsBackfill,
            IsLate = fired.IsLate,
            Change = facts.Change,
            FirstEventTime = facts.FirstEventTime,
            Recipients = [.. fired.Deliveries.Select(static d => d.Target ?? d.Recipient)],
            Link = AuditTrailLink.For(consoleUrl, fired),
            TimelineLink = IncidentLink.For(consoleUrl, fired),
            IsTest = fired.IsTest,
            EventTime = fired.EventTime,
            WindowStart = fired.WindowStart,
            WindowEnd = fired.WindowEnd,
            ForbiddenCount = facts.ForbiddenCount,
            EventId = facts.EventId,
            ApiKeyId = facts.ApiKeyId,
            PrincipalId = facts.PrincipalId,
            SourceIp = facts.SourceIp,
            TopPrincipals = Counted(facts.TopPrincipals),
            TopSourceIps = Counted(facts.TopSourceIps),
            Deliveries = [.. fired.Deliveries.Select(AuditAlertDelivery.From)],
            Status = fired.Status,
            SilenceId = fired.SilenceId,
            TakenBy = taken?.KeyId,
            TakenAt = taken?.At,
            TakeComment = taken?.Comment,
            ClosedBy = closed?.KeyId,
            ClosedAt = closed?.At,
            CloseComment = closed?.Comment,
            Acknowledgements = [.. fired.Acknowledgements],
        };
    }

    internal static string Summarize(IReadOnlyList<AlertDelivery> deliveries)
    {
        if (deliveries.Count == 0)
        {
            return "NoRecipients";
        }

        if (deliveries.All(static d => d.State == DeliveryState.Delivered))
        {
            return nameof(DeliveryState.Delivered);
        }

        if (deliveries.All(static d => d.State == DeliveryState.Silenced))
        {
            return nameof(DeliveryState.Silenced);
        }

        foreach (var state in new[] { DeliveryState.Failed, DeliveryState.Retrying, DeliveryState.Pending })
        {
            if (deliveries.Any(d => d.State == state))
            {
                return state.ToString();
            }
        }

        return nameof(DeliveryState.Pending);
    }

    private static string DescribeBehaviour(AlertDefinition definition, FiredAlert fired)
    {
        var facts = fired.Facts;
        var text = new StringBuilder(fired.Kind switch
        {
            AlertKind.Update => $"Update: the episode opened by firing {fired.EpisodeId} goes on and changed ({facts.Change}). ",
            AlertKind.Resolved => $"Resolved: the episode opened by firing {fired.EpisodeId} is over; the facts cover all of it. ",
            _ => "",
        });
        if (fired.IsLate)
        {
            text.Append(CultureInfo.InvariantCulture, $"Late: the event happened at {fired.EventTime.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC and arrived at {fired.TriggeredAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC. ");
        }

        if (fired.IsBackfill)
        {
            text.Append("Backfill: from events sent as history, not emailed. ");
        }

        text.Append(definition.Description);
        void Add(string name, object? value)
        {
            if (value is not null && (value is not string s || s.Length > 0))
            {
                text.Append(CultureInfo.InvariantCulture, $" {name}: {value}.");
            }
        }

        Add(fired.Kind == AlertKind.Firing ? "403 responses in the window" : "403 responses in the episode", facts.ForbiddenCount);
        Add("Top principals", Counted(facts.TopPrincipals));
        Add("Top source IPs", Counted(facts.TopSourceIps));
        Add("API key", facts.ApiKeyId);
        Add("Principal", facts.PrincipalId);
        Add("Source IP", facts.SourceIp);
        return text.ToString();
    }

    private static string? Counted(IReadOnlyList<CountedValue> values) =>
        values.Count == 0 ? null : string.Join(", ", values.Select(static v => string.Create(CultureInfo.InvariantCulture, $"{v.Value} ({v.Count})")));
}

/// <summary>Delivery of a fired alert to one recipient.</summary>
public sealed class AuditAlertDelivery
{
    /// <summary>The email address, or the webhook contact's id (wh_...).</summary>
    public required string Recipient { get; init; }

    /// <summary>email or webhook.</summary>
    public required string Channel { get; init; }

    /// <summary>A webhook's format and shortened URL; null for an email or a webhook removed since.</summary>
    public string? Target { get; init; }

    public required DeliveryState State { get; init; }

    public int Attempts { get; init; }

    public string? LastError { get; init; }

    public DateTimeOffset? DeliveredAt { get; init; }

    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>The digest email that carries this firing to the recipient, when it is grouped with others.</summary>
    public string? DigestId { get; init; }

    internal static AuditAlertDelivery From(AlertDelivery d) => new()
    {
        DigestId = d.DigestId,
        Recipient = d.Recipient,
        Channel = d.Channel,
        Target = d.Target,
        State = d.State,
        Attempts = d.Attempts,
        LastError = d.LastError,
        DeliveredAt = d.DeliveredAt,
        NextAttemptAt = d.NextAttemptAt,
    };

    public override string ToString() => DigestId is null ? $"{Target ?? Recipient}: {State}" : $"{Target ?? Recipient}: {State} (digest {DigestId})";
}
