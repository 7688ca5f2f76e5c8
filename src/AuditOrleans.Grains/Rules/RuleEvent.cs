using System.Text.Json;
using Google.Protobuf.WellKnownTypes;

namespace AuditOrleans.Grains.Rules;

/// <summary>
/// The variable <c>event</c> a rule's query sees (docs/rules.md, The event variable): one map
/// with the provider's snake_case field names and every field of every kind present, absent ones
/// as their zero value ("" for text, 0 for numbers, an empty list or map), so that a query written
/// for one kind evaluates to false, not to an error, on the others.
/// </summary>
public static class RuleEvent
{
    /// <summary>Fields of every kind, with their CEL type, for the query check and the documentation.</summary>
    public static IReadOnlyDictionary<string, string> Fields { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["kind"] = "string",
        ["id"] = "string",
        ["recorded_at"] = "google.protobuf.Timestamp",
        ["locality"] = "string",
        ["region"] = "string",
        ["organization_id"] = "string",
        ["project_id"] = "string",
        ["principal"] = "map (id)",
        ["source_ip"] = "string",
        ["user_agent"] = "string",
        ["product_name"] = "string",
        ["service_name"] = "string",
        ["method_name"] = "string",
        ["request_id"] = "string",
        ["status_code"] = "int",
        ["request_body"] = "map (the JSON body)",
        ["resources"] = "list of map (id, type, name)",
        ["result"] = "string",
        ["failure_reason"] = "string",
        ["method"] = "string",
        ["origin"] = "string",
        ["mfa_type"] = "string",
        ["country_code"] = "string",
        ["system_kind"] = "string",
        ["source"] = "string",
        ["system_name"] = "string",
    };

    /// <summary>The variables of one evaluation: <c>event</c> built from <paramref name="e"/>; its request body parsed only when <paramref name="withRequestBody"/>.</summary>
    public static Dictionary<string, object?> Variables(AuditEvent e, bool withRequestBody)
    {
        ArgumentNullException.ThrowIfNull(e);
        var resources = new List<object?>(e.Resources?.Count ?? 0);
        foreach (var r in e.Resources ?? [])
        {
            resources.Add(new Dictionary<string, object?>(3, StringComparer.Ordinal)
            {
                ["id"] = r?.Id ?? "",
                ["type"] = r?.Type ?? "",
                ["name"] = r?.Name ?? "",
            });
        }

        var map = new Dictionary<string, object?>(32, StringComparer.Ordinal)
        {
            ["kind"] = EventKinds.ToColumn(e.Kind),
            ["id"] = e.Id ?? "",
            ["recorded_at"] = Timestamp.FromDateTimeOffset(e.RecordedAt ?? DateTimeOffset.UnixEpoch),
            ["locality"] = e.Locality ?? "",
            ["region"] = e.Region ?? "",
            ["organization_id"] = e.OrganizationId ?? "",
            ["project_id"] = e.ProjectId ?? "",
            ["principal"] = new Dictionary<string, object?>(1, StringComparer.Ordinal) { ["id"] = e.PrincipalId ?? "" },
            ["source_ip"] = e.SourceIp ?? "",
            ["user_agent"] = e.UserAgent ?? "",
            ["product_name"] = e.ProductName ?? "",
            ["service_name"] = e.ServiceName ?? "",
            ["method_name"] = e.MethodName ?? "",
            ["request_id"] = e.RequestId ?? "",
            ["status_code"] = (long)(e.StatusCode ?? 0),
            ["request_body"] = withRequestBody && e.RequestBody is { } body ? Body(body) : new Dictionary<string, object?>(StringComparer.Ordinal),
            ["resources"] = resources,
            ["result"] = e.Result ?? "",
            ["failure_reason"] = e.FailureReason ?? "",
            ["method"] = e.Method ?? "",
            ["origin"] = e.Origin ?? "",
            ["mfa_type"] = e.MfaType ?? "",
            ["country_code"] = e.CountryCode ?? "",
            ["system_kind"] = e.SystemKind ?? "",
            ["source"] = e.Source ?? "",
            ["system_name"] = e.SystemName ?? "",
        };
        return new Dictionary<string, object?>(1, StringComparer.Ordinal) { ["event"] = map };
    }

    /// <summary>The text of a string field as the query sees it (for the pre-filter): "" when absent.</summary>
    public static string? Text(AuditEvent e, string field) => field switch
    {
        "kind" => EventKinds.ToColumn(e.Kind),
        "method_name" => e.MethodName ?? "",
        "product_name" => e.ProductName ?? "",
        "service_name" => e.ServiceName ?? "",
        "result" => e.Result ?? "",
        "failure_reason" => e.FailureReason ?? "",
        "method" => e.Method ?? "",
        "origin" => e.Origin ?? "",
        "system_kind" => e.SystemKind ?? "",
        "system_name" => e.SystemName ?? "",
        "source" => e.Source ?? "",
        "locality" => e.Locality ?? "",
        "region" => e.Region ?? "",
        "source_ip" => e.SourceIp ?? "",
        "country_code" => e.CountryCode ?? "",
        "mfa_type" => e.MfaType ?? "",
        "organization_id" => e.OrganizationId ?? "",
        "project_id" => e.ProjectId ?? "",
        "request_id" => e.RequestId ?? "",
        "principal.id" => e.PrincipalId ?? "",
        "status_code" => StatusText(e.StatusCode ?? 0),
        _ => null,
    };

    private static readonly string[] StatusTexts = [.. Enumerable.Range(0, 600).Select(static i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static string StatusText(int status) => status is >= 0 and < 600 ? StatusTexts[status] : status.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static object? Body(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = IngestLimits.MaxEventJsonReadDepth });
            return Convert(document.RootElement);
        }
        catch (JsonException)
        {
            return new Dictionary<string, object?>(StringComparer.Ordinal);
        }
    }

    private static object? Convert(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().GroupBy(static p => p.Name, StringComparer.Ordinal)
            .ToDictionary(static g => g.Key, static g => Convert(g.Last().Value), StringComparer.Ordinal),
        JsonValueKind.Array => element.EnumerateArray().Select(Convert).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var l) ? l : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
