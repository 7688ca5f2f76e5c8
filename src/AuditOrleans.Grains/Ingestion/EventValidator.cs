using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace AuditOrleans.Grains.Ingestion;

/// <summary>
/// Checks one incoming event against docs/events.md (Fields, Text rules) and the size and depth limits of
/// <see cref="IngestLimits"/>, and normalises it: id generated, recorded_at defaulted, region
/// and project resolved, empty strings dropped. Every text field, nested ones included, has a
/// length limit and must be valid Unicode without control characters; ids also refuse invisible
/// formatting characters (bidirectional overrides, zero-width characters). Never throws for bad
/// input: the first problem found is returned as an <see cref="EventError"/> naming the field.
/// </summary>
public sealed partial class EventValidator(IReadOnlyCollection<string> regions, TimeProvider time)
{

    /// <summary>How far in the future recorded_at may be (clock skew allowance).</summary>
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The earliest recorded_at accepted. Old events are kept whatever their age, but a time
    /// before 1970 is no API call's: it is an unset date (0001-01-01) or a unit mistake.
    /// </summary>
    public static readonly DateTimeOffset MinRecordedAt = DateTimeOffset.UnixEpoch;

    private enum TextKind
    {
        /// <summary>Ids and names: printable, no control or invisible formatting characters.</summary>
        Id,

        /// <summary>Free text (user agent, resource name): no control characters or line separators.</summary>
        Text,
    }

    public ValidationResult Validate(AuditEvent e, int index, string defaultProjectId)
    {
        ArgumentNullException.ThrowIfNull(e);
        var id = Blank(e.Id);
        var reportedId = id is null ? null : Scope.Printable(id, IngestLimits.MaxIdLength);
        EventError Error(string field, string message) => new(index, reportedId, field, message);

        if (id is not null && CheckText("id", id, IngestLimits.MaxIdLength, TextKind.Id) is { } idError)
        {
            return Error("id", idError);
        }

        if (!Enum.IsDefined(e.Kind))
        {
            return Error("kind", $"'{e.Kind}' is not an event kind: send an API, authentication or system event.");
        }

        if (e.Kind == EventKind.Api)
        {
            if (e.StatusCode is not { } status)
            {
                return Error("status_code", "status_code is required: give the HTTP status of the audited call (100..599).");
            }

            if (status is < 100 or > 599)
            {
                return Error("status_code", $"status_code {status} is not an HTTP status: use a value from 100 to 599.");
            }
        }
        else if (CheckOtherKind(e) is { } kindError)
        {
            return Error(kindError.Field, kindError.Message);
        }

        var now = time.GetUtcNow();
        var recordedAt = e.RecordedAt ?? now;
        if (recordedAt > now + MaxFutureSkew)
        {
            return Error("recorded_at",
                $"recorded_at {AuditEventJson.FormatTime(recordedAt)} is more than {MaxFutureSkew.TotalMinutes:0} minutes in the future (now {AuditEventJson.FormatTime(now)}): check the sender's clock and time zone.");
        }

        if (recordedAt < MinRecordedAt)
        {
            return Error("recorded_at",
                $"recorded_at {AuditEventJson.FormatTime(recordedAt)} is before {AuditEventJson.FormatTime(MinRecordedAt)}: that is an unset date, not the time of an API call. Send the time the call happened (UTC).");
        }

        var locality = Blank(e.Locality);
        if (locality is not null && CheckText("locality", locality, IngestLimits.MaxLocalityLength, TextKind.Id) is { } localityError)
        {
            return Error("locality", localityError);
        }

        var productName = Blank(e.ProductName);
        if (productName is not null && CheckText("product_name", productName, IngestLimits.MaxNameLength, TextKind.Id) is { } productError)
        {
            return Error("product_name", productError);
        }

        // Authentication events are organization-level: global, counted where global events count (docs/events.md, Regions).
        var region = e.Kind == EventKind.Authentication ? Scope.GlobalRegion : Scope.ResolveRegion(locality, productName, regions);
        if (region is null)
        {
            return Error("locality", Scope.DescribeUnknownRegion(locality, regions));
        }

        var organizationId = Blank(e.OrganizationId);
        var explicitProject = Blank(e.ProjectId);
        var projectId = explicitProject ?? organizationId ?? defaultProjectId;
        if (!Scope.IsValidProjectId(projectId))
        {
            var field = explicitProject is not null ? "project_id" : organizationId is not null ? "organization_id" : "project_id";
            return Error(field, Scope.DescribeProjectIdRule(projectId));
        }

        foreach (var (field, value) in new[]
        {
            ("organization_id", organizationId), ("principal_id", e.PrincipalId), ("request_id", e.RequestId),
            ("service_name", e.ServiceName), ("method_name", e.MethodName),
        })
        {
            if (Blank(value) is { } text && CheckText(field, text, IngestLimits.MaxNameLength, TextKind.Id) is { } message)
            {
                return Error(field, message);
            }
        }

        var sourceIp = Blank(e.SourceIp);
        if (sourceIp is not null)
        {
            if (sourceIp.Length > IngestLimits.MaxSourceIpLength)
            {
                return Error("source_ip", $"source_ip is {sourceIp.Length} characters long, at most {IngestLimits.MaxSourceIpLength} are accepted: send the caller's IPv4 or IPv6 address.");
            }

            if (!TryNormalizeIp(sourceIp, out var normalized))
            {
                return Error("source_ip", $"source_ip '{Scope.Printable(sourceIp)}' is not a valid IPv4 or IPv6 address: send the caller's address, or leave the field empty.");
            }

            sourceIp = normalized;
        }

        var userAgent = Blank(e.UserAgent);
        if (userAgent is not null && CheckText("user_agent", userAgent, IngestLimits.MaxUserAgentLength, TextKind.Text) is { } userAgentError)
        {
            return Error("user_agent", userAgentError);
        }

        if (e.RequestBody is { } body && CheckJson("request_body", body, IngestLimits.MaxRequestBodyBytes, resourceDetails: false) is { } bodyError)
        {
            return Error("request_body", bodyError);
        }

        var resources = e.Resources;
        if (resources is { Count: > IngestLimits.MaxResources })
        {
            return Error("resources", $"The event lists {resources.Count} resources; at most {IngestLimits.MaxResources} are accepted: split the event or keep the resources that matter.");
        }

        for (var i = 0; resources is not null && i < resources.Count; i++)
        {
            var r = resources[i];
            if (r is null)
            {
                return Error($"resources[{i}]", $"Resource {i} is empty (null): give at least its id and type, or leave it out.");
            }

            foreach (var (field, value, kind) in new[] { ("id", r.Id, TextKind.Id), ("type", r.Type, TextKind.Id), ("name", r.Name, TextKind.Text) })
            {
                if (value is not null && CheckText($"resources[{i}].{field}", value, IngestLimits.MaxNameLength, kind) is { } message)
                {
                    return Error($"resources[{i}].{field}", message);
                }
            }

            if (r.Details is { } details && CheckJson($"resources[{i}]", details, IngestLimits.MaxResourceDetailsBytes, resourceDetails: true) is { } detailsError)
            {
                return Error($"resources[{i}]", detailsError);
            }
        }

        var size = IngestLimits.Measure(e);
        if (size > IngestLimits.MaxEventBytes)
        {
            return Error(IngestLimits.LargestField(e).Field, IngestLimits.DescribeOversizedEvent(e, size));
        }

        return new ValidationResult(e with
        {
            Id = id ?? Guid.CreateVersion7(now).ToString(),
            RecordedAt = recordedAt.ToUniversalTime(),
            Locality = locality,
            Region = region,
            ProjectId = projectId,
            OrganizationId = organizationId,
            PrincipalId = Blank(e.PrincipalId),
            SourceIp = sourceIp,
            UserAgent = userAgent,
            ProductName = productName,
            ServiceName = Blank(e.ServiceName),
            MethodName = Blank(e.MethodName),
            RequestId = Blank(e.RequestId),

            // A JSON null body is no body: stored and read back as absent.
            RequestBody = e.RequestBody is { } json && json.AsSpan().Trim().SequenceEqual("null") ? null : e.RequestBody,
        } is var completed && completed.Kind == EventKind.Api ? WithoutOtherKindFields(completed) : WithOtherKindFieldsNormalized(completed));
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

    /// <summary>
    /// The problem with a text field, or null: too long, an unpaired surrogate (not Unicode),
    /// a control character, a line or paragraph separator, and for ids an invisible formatting
    /// character (bidirectional override, zero-width space...).
    /// </summary>
    private static string? CheckText(string field, string value, int maxLength, TextKind kind)
    {
        if (value.Length > maxLength)
        {
            return $"{field} is {value.Length} characters long; at most {maxLength} are accepted: shorten it.";
        }

        if (FindBadCharacter(value, kind) is { } bad)
        {
            return $"{field} '{Scope.Printable(value, 40)}' contains {bad.What} at position {bad.Position}: " +
                (kind == TextKind.Id ? "ids and names must be printable text." : "remove it.");
        }

        return null;
    }

    private static (string What, int Position)? FindBadCharacter(string value, TextKind kind)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                return ($"an unpaired UTF-16 surrogate (U+{(int)c:X4}), which is not Unicode text", i);
            }

            var category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category is UnicodeCategory.Control or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                || (kind == TextKind.Id && category == UnicodeCategory.Format))
            {
                return ($"the {(category == UnicodeCategory.Format ? "invisible formatting" : "control")} character U+{(int)c:X4}", i);
            }
        }

        return null;
    }

    /// <summary>
    /// The problem with a JSON document field, or null: too large, nested too deep for the stored
    /// event to read back, not JSON, strings that are not Unicode (escaped unpaired surrogates such
    /// as <c>\ud800</c>, which could not be read back); resource details must be an object whose
    /// keys do not shadow id, type and name.
    /// </summary>
    private static string? CheckJson(string field, string json, int maxBytes, bool resourceDetails)
    {
        var what = resourceDetails ? $"The details of {field} (the fields other than id, type and name)" : field;
        var bytes = IngestLimits.Bytes(json);
        if (bytes > maxBytes)
        {
            return $"{what} hold {IngestLimits.FormatBytes(bytes)} of JSON; at most {IngestLimits.FormatBytes(maxBytes)} are accepted: redact large values.";
        }

        if (FindBadCharacter(json, TextKind.Text) is { What: var bad } && bad.StartsWith("an unpaired", StringComparison.Ordinal))
        {
            return $"{what} contains {bad}: send valid Unicode JSON.";
        }

        try
        {
            // Measured as the document will nest inside the stored event, so that every event
            // accepted reads back with the readers' limit (IngestLimits.MaxEventJsonDepth).
            var maxDepth = resourceDetails ? IngestLimits.MaxResourceDetailsDepth : IngestLimits.MaxRequestBodyDepth;
            if (IngestLimits.JsonDepth(json, maxDepth) > maxDepth)
            {
                return resourceDetails
                    ? $"{what} nest objects and arrays more than {maxDepth} levels deep (the resource's own object counting as the first); at most {maxDepth} are accepted, " +
                        $"so that the stored event stays within the {IngestLimits.MaxEventJsonDepth} levels JSON readers accept: flatten them, or send the deep part as a JSON string."
                    : $"{what} nests objects and arrays more than {maxDepth} levels deep; at most {maxDepth} are accepted, " +
                        $"so that the stored event (one level more) stays within the {IngestLimits.MaxEventJsonDepth} levels JSON readers accept: flatten it, or send the deep part as a JSON string.";
            }

            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = maxDepth });
            var root = document.RootElement;
            if (resourceDetails && root.ValueKind != JsonValueKind.Object)
            {
                return $"{what} must be a JSON object, not {root.ValueKind.ToString().ToLowerInvariant()}.";
            }

            if (resourceDetails)
            {
                foreach (var property in root.EnumerateObject())
                {
                    if (property.Name is "id" or "type" or "name")
                    {
                        return $"{what} repeat the key '{property.Name}': give the resource's {property.Name} once, as its own field.";
                    }
                }
            }

            ReadAllStrings(root);
            return null;
        }
        catch (JsonException ex)
        {
            return $"{what} is not a valid JSON document ({FirstLine(ex.Message)}): send it as recorded, as JSON.";
        }
        catch (InvalidOperationException)
        {
            return $"{what} contains an escaped unpaired UTF-16 surrogate (such as \\ud800), which is not Unicode text: send valid Unicode JSON.";
        }
    }

    /// <summary>Decodes every property name and string of a document; an invalid escape throws <see cref="InvalidOperationException"/>.</summary>
    private static void ReadAllStrings(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    ReadAllStrings(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    ReadAllStrings(item);
                }

                break;
            case JsonValueKind.String:
                _ = element.GetString();
                break;
        }
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
