using System.Globalization;

namespace AuditOrleans.PowerShell;

/// <summary>
/// One stored audit event as Get-AuditEvent returns it: flat properties (resources and the
/// request body as text) so that Export-Csv and Format-Table work without flattening.
/// </summary>
public sealed class AuditEventEntry
{
    public required string Id { get; init; }

    /// <summary>Api, Authentication or System (docs/events.md, Event kinds); text, like every property here, for Export-Csv.</summary>
    public string Kind { get; init; } = nameof(EventKind.Api);

    public DateTimeOffset? RecordedAt { get; init; }

    public required string ProjectId { get; init; }

    public required string Region { get; init; }

    public string? Locality { get; init; }

    public string? OrganizationId { get; init; }

    public string? PrincipalId { get; init; }

    public string? SourceIp { get; init; }

    public string? UserAgent { get; init; }

    public string? ProductName { get; init; }

    public string? ServiceName { get; init; }

    public string? MethodName { get; init; }

    public int? StatusCode { get; init; }

    public string? RequestId { get; init; }

    /// <summary>Resource ids, separated by ';'.</summary>
    public string? ResourceIds { get; init; }

    /// <summary>Resource types, in the order of <see cref="ResourceIds"/>, separated by ';'.</summary>
    public string? ResourceTypes { get; init; }

    /// <summary>Resource names, in the order of <see cref="ResourceIds"/>, separated by ';'.</summary>
    public string? ResourceNames { get; init; }

    /// <summary>The resources as the provider's JSON array (with created_at, *_info...).</summary>
    public string? Resources { get; init; }

    /// <summary>The request body as recorded (JSON text).</summary>
    public string? RequestBody { get; init; }

    /// <summary>Authentication: success or failure.</summary>
    public string? Result { get; init; }

    public string? FailureReason { get; init; }

    /// <summary>Authentication: how the user signed in.</summary>
    public string? Method { get; init; }

    public string? Origin { get; init; }

    public string? MfaType { get; init; }

    public string? CountryCode { get; init; }

    /// <summary>System: cron or notification (the provider's 'kind' of a system event).</summary>
    public string? SystemKind { get; init; }

    public string? Source { get; init; }

    public string? SystemName { get; init; }

    /// <summary>What happened, in a few words, whatever the kind: the method and status, the sign-in result, the system action.</summary>
    public string Action => Kind switch
    {
        nameof(EventKind.Authentication) => string.Join(' ', new[] { "sign-in", Result, FailureReason }.Where(static p => !string.IsNullOrEmpty(p))),
        nameof(EventKind.System) => string.Join(' ', new[] { SystemKind, SystemName }.Where(static p => !string.IsNullOrEmpty(p))),
        _ => string.Create(CultureInfo.InvariantCulture, $"{MethodName} {StatusCode}"),
    };

    /// <summary>Position of the event in its project-region's hash chain.</summary>
    public long Sequence { get; init; }

    public DateTimeOffset IngestedAt { get; init; }

    /// <summary>The event's link in the hash chain.</summary>
    public required string Hash { get; init; }

    internal static AuditEventEntry From(AuditRecord record)
    {
        var e = record.Event;
        var resources = e.Resources is { Count: > 0 } list ? list : null;
        return new AuditEventEntry
        {
            Id = e.Id ?? "",
            Kind = e.Kind.ToString(),
            Result = e.Result,
            FailureReason = e.FailureReason,
            Method = e.Method,
            Origin = e.Origin,
            MfaType = e.MfaType,
            CountryCode = e.CountryCode,
            SystemKind = e.SystemKind,
            Source = e.Source,
            SystemName = e.SystemName,
            RecordedAt = e.RecordedAt,
            ProjectId = record.ProjectId,
            Region = record.Region,
            Locality = e.Locality,
            OrganizationId = e.OrganizationId,
            PrincipalId = e.PrincipalId,
            SourceIp = e.SourceIp,
            UserAgent = e.UserAgent,
            ProductName = e.ProductName,
            ServiceName = e.ServiceName,
            MethodName = e.MethodName,
            StatusCode = e.StatusCode,
            RequestId = e.RequestId,
            ResourceIds = resources is null ? null : string.Join(';', resources.Select(static r => r.Id ?? "")),
            ResourceTypes = resources is null ? null : string.Join(';', resources.Select(static r => r.Type ?? "")),
            ResourceNames = resources is null ? null : string.Join(';', resources.Select(static r => r.Name ?? "")),
            Resources = resources is null ? null : AuditEventJson.SerializeResources(resources),
            RequestBody = e.RequestBody,
            Sequence = record.Sequence,
            IngestedAt = record.IngestedAt,
            Hash = record.Hash,
        };
    }

    public override string ToString() => $"{Id} {Action}";
}
