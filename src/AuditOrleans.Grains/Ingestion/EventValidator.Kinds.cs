namespace AuditOrleans.Grains.Ingestion;

/// <summary>
/// The rules of authentication and system events (docs/events.md, Event kinds): the fields of
/// each kind, and the API-only fields they may not carry.
/// </summary>
public sealed partial class EventValidator
{
    /// <summary>At most this many characters in the short enumerated fields (result, method, origin...).</summary>
    public const int MaxKindFieldLength = 64;

    private static readonly string[] Results = ["success", "failure", "unknown_result"];

    private static readonly string[] SystemKinds = ["cron", "notification", "unknown_kind"];

    /// <summary>The first problem of an authentication or system event's own fields, or null.</summary>
    private static (string Field, string Message)? CheckOtherKind(AuditEvent e)
    {
        var kind = e.Kind == EventKind.Authentication ? "an authentication event" : "a system event";
        var expected = e.Kind == EventKind.Authentication
            ? "an authentication event carries result, failure_reason, method, origin, mfa_type, country_code, source_ip and user_agent"
            : "a system event carries kind, source, system_name, product_name and resources";
        foreach (var (field, present) in new[]
        {
            ("status_code", e.StatusCode is not null), ("method_name", Blank(e.MethodName) is not null),
            ("service_name", Blank(e.ServiceName) is not null), ("request_body", e.RequestBody is not null),
            ("request_id", Blank(e.RequestId) is not null),
        })
        {
            if (present)
            {
                return (field, $"{field} is a field of API events, and this is {kind} ({expected}): send it as an API event (plain, or wrapped as {{\"api\": ...}}), or leave {field} out.");
            }
        }

        if (e.Kind == EventKind.Authentication)
        {
            foreach (var (field, present) in new[] { ("kind", e.SystemKind is not null), ("source", e.Source is not null), ("system_name", e.SystemName is not null) })
            {
                if (present)
                {
                    return (field, $"{field} is a field of system events, and this is an authentication event: leave it out, or send the event as a system event ({{\"system\": ...}}).");
                }
            }

            var result = Blank(e.Result);
            if (result is null)
            {
                return ("result", "result is required in an authentication event: send success or failure.");
            }

            if (!Results.Contains(result, StringComparer.Ordinal))
            {
                return ("result", $"result '{Scope.Printable(result, 40)}' is not a sign-in result: send {string.Join(", ", Results)}.");
            }

            foreach (var (field, value) in new[] { ("failure_reason", e.FailureReason), ("method", e.Method), ("origin", e.Origin), ("mfa_type", e.MfaType) })
            {
                if (Blank(value) is { } text && CheckText(field, text, MaxKindFieldLength, TextKind.Id) is { } message)
                {
                    return (field, message);
                }
            }

            if (Blank(e.CountryCode) is { } country && (country.Length != 2 || !country.All(char.IsAsciiLetter)))
            {
                return ("country_code", $"country_code '{Scope.Printable(country, 40)}' is not a two-letter country code (ISO 3166-1 alpha-2, such as FR): send it so, or leave it out.");
            }

            return null;
        }

        foreach (var (field, present) in new[]
        {
            ("result", e.Result is not null), ("failure_reason", e.FailureReason is not null), ("method", e.Method is not null),
            ("origin", e.Origin is not null), ("mfa_type", e.MfaType is not null), ("country_code", e.CountryCode is not null),
        })
        {
            if (present)
            {
                return (field, $"{field} is a field of authentication events, and this is a system event: leave it out, or send the event as an authentication event ({{\"auth\": ...}}).");
            }
        }

        var systemKind = Blank(e.SystemKind);
        if (systemKind is null)
        {
            return ("kind", "kind is required in a system event: send cron or notification.");
        }

        if (!SystemKinds.Contains(systemKind, StringComparer.Ordinal))
        {
            return ("kind", $"kind '{Scope.Printable(systemKind, 40)}' is not a system event kind: send {string.Join(", ", SystemKinds)}.");
        }

        foreach (var (field, value) in new[] { ("source", e.Source), ("system_name", e.SystemName) })
        {
            if (Blank(value) is { } text && CheckText(field, text, IngestLimits.MaxNameLength, TextKind.Id) is { } message)
            {
                return (field, message);
            }
        }

        return null;
    }

    /// <summary>
    /// An API event without the other kinds' fields: before event kinds those were no event
    /// fields and were ignored, so an API event is stored byte for byte as it was.
    /// </summary>
    private static AuditEvent WithoutOtherKindFields(AuditEvent e) => e with
    {
        Result = null,
        FailureReason = null,
        Method = null,
        Origin = null,
        MfaType = null,
        CountryCode = null,
        SystemKind = null,
        Source = null,
        SystemName = null,
    };

    /// <summary>An authentication or system event with its own fields' blanks dropped and the country code in capitals.</summary>
    private static AuditEvent WithOtherKindFieldsNormalized(AuditEvent e) => e with
    {
        Result = Blank(e.Result),
        FailureReason = Blank(e.FailureReason),
        Method = Blank(e.Method),
        Origin = Blank(e.Origin),
        MfaType = Blank(e.MfaType),
        CountryCode = Blank(e.CountryCode)?.ToUpperInvariant(),
        SystemKind = Blank(e.SystemKind),
        Source = Blank(e.Source),
        SystemName = Blank(e.SystemName),
    };
}
