using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace AuditOrleans.Grains.Ingestion;

/// <summary>
/// Checks one incoming event against SPEC section 3 and the size limits, and normalises it:
/// id generated, recorded_at defaulted, region and project resolved, empty strings dropped.
/// Never throws for bad input: the first problem found is returned as an <see cref="EventError"/>.
/// </summary>
public sealed class EventValidator(IReadOnlyCollection<string> regions, TimeProvider time)
{
    public const int MaxBatchSize = 5000;
    public const int MaxIdLength = 128;
    public const int MaxNameLength = 256;
    public const int MaxUserAgentLength = 1024;
    public const int MaxResources = 100;
    public const int MaxRequestBodyBytes = 64 * 1024;
    public const int MaxResourceDetailsBytes = 16 * 1024;

    /// <summary>How far in the future recorded_at may be (clock skew allowance).</summary>
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromMinutes(5);

    public ValidationResult Validate(AuditEvent e, int index, string defaultProjectId)
    {
        var id = Blank(e.Id);
        EventError Error(string field, string message) => new(index, id is null ? null : Scope.Printable(id), field, message);

        if (id is not null && Identifier("id", id, MaxIdLength) is { } idError)
        {
            return Error("id", idError);
        }

        if (e.StatusCode is not { } status)
        {
            return Error("status_code", "status_code is required: give the HTTP status of the audited call (100..599).");
        }

        if (status is < 100 or > 599)
        {
            return Error("status_code", $"status_code {status} is not an HTTP status: use a value from 100 to 599.");
        }

        var now = time.GetUtcNow();
        var recordedAt = e.RecordedAt ?? now;
        if (recordedAt > now + MaxFutureSkew)
        {
            return Error("recorded_at",
                $"recorded_at {AuditEventJson.FormatTime(recordedAt)} is more than {MaxFutureSkew.TotalMinutes:0} minutes in the future (now {AuditEventJson.FormatTime(now)}): check the sender's clock and time zone.");
        }

        var region = Scope.ResolveRegion(e.Locality, e.ProductName, regions);
        if (region is null)
        {
            return Error("locality", Scope.DescribeUnknownRegion(e.Locality, regions));
        }

        var organizationId = Blank(e.OrganizationId);
        var explicitProject = Blank(e.ProjectId);
        var projectId = explicitProject ?? organizationId ?? defaultProjectId;
        if (!Scope.IsValidProjectId(projectId))
        {
            var field = explicitProject is not null ? "project_id" : organizationId is not null ? "organization_id" : "project_id";
            return Error(field, Scope.DescribeProjectIdRule(projectId));
        }

        if (organizationId is not null && Identifier("organization_id", organizationId, MaxNameLength) is { } orgError)
        {
            return Error("organization_id", orgError);
        }

        foreach (var (field, value) in new[]
        {
            ("principal_id", e.PrincipalId), ("request_id", e.RequestId), ("product_name", e.ProductName),
            ("service_name", e.ServiceName), ("method_name", e.MethodName),
        })
        {
            if (Blank(value) is { } text && Identifier(field, text, MaxNameLength) is { } message)
            {
                return Error(field, message);
            }
        }

        var sourceIp = Blank(e.SourceIp);
        if (sourceIp is not null)
        {
            if (!TryNormalizeIp(sourceIp, out var normalized))
            {
                return Error("source_ip", $"source_ip '{Scope.Printable(sourceIp)}' is not a valid IPv4 or IPv6 address: send the caller's address, or leave the field empty.");
            }

            sourceIp = normalized;
        }

        var userAgent = Blank(e.UserAgent);
        if (userAgent is not null)
        {
            if (userAgent.Length > MaxUserAgentLength)
            {
                return Error("user_agent", $"user_agent is {userAgent.Length} characters long; at most {MaxUserAgentLength} are accepted: truncate it.");
            }

            if (userAgent.Any(char.IsControl))
            {
                return Error("user_agent", "user_agent contains control characters: remove them.");
            }
        }

        if (e.RequestBody is { } body)
        {
            if (body.Length > MaxRequestBodyBytes)
            {
                return Error("request_body", $"request_body is larger than {MaxRequestBodyBytes / 1024} KiB: send a smaller body (redact large values).");
            }

            if (!IsJson(body))
            {
                return Error("request_body", "request_body is not a valid JSON document: send it as recorded, as JSON.");
            }
        }

        var resources = e.Resources;
        if (resources is { Count: > MaxResources })
        {
            return Error("resources", $"The event lists {resources.Count} resources; at most {MaxResources} are accepted.");
        }

        for (var i = 0; resources is not null && i < resources.Count; i++)
        {
            var r = resources[i];
            if (r is null)
            {
                return Error($"resources[{i}]", "A resource entry is empty: give at least its id and type.");
            }

            foreach (var (field, value) in new[] { ("id", r.Id), ("type", r.Type), ("name", r.Name) })
            {
                if (value is not null && (field == "name" ? Text(value, MaxNameLength) : Identifier(field, value, MaxNameLength)) is { } message)
                {
                    return Error($"resources[{i}].{field}", message);
                }
            }

            if (r.Details is { } details && (details.Length > MaxResourceDetailsBytes || !IsJsonObject(details)))
            {
                return Error($"resources[{i}]", $"The details of resource {i} must be a JSON object of at most {MaxResourceDetailsBytes / 1024} KiB.");
            }
        }

        return new ValidationResult(e with
        {
            Id = id ?? Guid.CreateVersion7(now).ToString(),
            RecordedAt = recordedAt.ToUniversalTime(),
            Locality = Blank(e.Locality),
            Region = region,
            ProjectId = projectId,
            OrganizationId = organizationId,
            PrincipalId = Blank(e.PrincipalId),
            SourceIp = sourceIp,
            UserAgent = userAgent,
            ProductName = Blank(e.ProductName),
            ServiceName = Blank(e.ServiceName),
            MethodName = Blank(e.MethodName),
            RequestId = Blank(e.RequestId),
        });
    }

    /// <summary>Parses an IPv4 (dotted quad) or IPv6 address; rejects the short forms IPAddress.TryParse accepts ("1", "1.2").</summary>
    public static bool TryNormalizeIp(string text, out string normalized)
    {
        normalized = text;
        if (!IPAddress.TryParse(text, out var address))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var parts = text.Split('.');
            if (parts.Length != 4 || parts.Any(static p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit)))
            {
                return false;
            }
        }
        else if (address.AddressFamily != AddressFamily.InterNetworkV6 || !text.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        normalized = address.ToString();
        return true;
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static string? Identifier(string field, string value, int max)
    {
        if (value.Length > max)
        {
            return $"{field} is {value.Length} characters long; at most {max} are accepted.";
        }

        if (value.Any(char.IsControl))
        {
            return $"{field} '{Scope.Printable(value)}' contains control characters: ids must be printable.";
        }

        return null;
    }

    private static string? Text(string value, int max) =>
        value.Length > max ? $"The value is {value.Length} characters long; at most {max} are accepted." : null;

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsJsonObject(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>A normalised event, or the reason it was rejected.</summary>
public readonly record struct ValidationResult
{
    public ValidationResult(AuditEvent valid) => Event = valid;

    public ValidationResult(EventError error) => Error = error;

    public AuditEvent? Event { get; }

    public EventError? Error { get; }

    public static implicit operator ValidationResult(EventError error) => new(error);
}
