namespace AuditOrleans;

/// <summary>
/// The names of the event kinds: <c>api</c>, <c>authentication</c>, <c>system</c>, as the log's
/// <c>kind</c> column and the rules' <c>event.kind</c> spell them (docs/events.md, Event kinds).
/// </summary>
public static class EventKinds
{
    public const string Api = "api";

    public const string Authentication = "authentication";

    public const string System = "system";

    /// <summary>The lower-case name of a kind.</summary>
    public static string ToColumn(EventKind kind) => kind switch
    {
        EventKind.Authentication => Authentication,
        EventKind.System => System,
        _ => Api,
    };

    /// <summary>Parses a kind name (case ignored; <c>auth</c> for authentication); false for anything else.</summary>
    public static bool TryParse(string? text, out EventKind kind)
    {
        kind = EventKind.Api;
        switch (text?.Trim().ToLowerInvariant())
        {
            case Api:
                return true;
            case Authentication or "auth":
                kind = EventKind.Authentication;
                return true;
            case System:
                kind = EventKind.System;
                return true;
            default:
                return false;
        }
    }
}
