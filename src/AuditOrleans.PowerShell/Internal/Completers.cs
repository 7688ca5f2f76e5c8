using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using AuditOrleans.PowerShell.Client;
using AuditOrleans.PowerShell.Cmdlets;

namespace AuditOrleans.PowerShell.Internal;

/// <summary>Tab completion of the five alert names.</summary>
public sealed class AlertNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Matching(AlertCatalog.All.Select(static a => (a.Name.ToString(), $"{a.Severity}: {a.Description}")), wordToComplete);
}

/// <summary>Tab completion of the regions every installation knows.</summary>
public sealed class RegionCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Matching(Scope.DefaultRegions.Select(static r => (r, $"Region {r}")), wordToComplete);
}

/// <summary>
/// Tab completion of project ids: the session's project, $env:AUDITORLEANS_PROJECT_ID and
/// 'default'. Never file names: when nothing known matches, what was typed is kept.
/// </summary>
public sealed class ProjectIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var known = new List<(string, string)>();
        if (AuditSession.Current is { } connection)
        {
            known.Add((connection.Settings.ProjectId, "The session's project (Connect-AuditCluster)"));
        }

        if (Environment.GetEnvironmentVariable(ConnectAuditClusterCommand.ProjectIdVariable) is { Length: > 0 } fromEnvironment && Scope.IsValidProjectId(fromEnvironment.Trim()))
        {
            known.Add((fromEnvironment.Trim(), $"${ConnectAuditClusterCommand.ProjectIdVariable}"));
        }

        known.Add((Scope.DefaultProjectId, "The project used when none is given"));
        return Completion.MatchingOrTyped(known.DistinctBy(static k => k.Item1), wordToComplete, "A project id: 1 to 64 letters, digits, '-' or '_'");
    }
}

/// <summary>
/// Tab completion of notification contacts: the addresses of the project's contacts when the
/// session is connected (asked with a short timeout), else what was typed. Never file names.
/// </summary>
public sealed class ContactEmailCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.MatchingOrTyped(
            Completion.FromCluster(fakeBoundParameters, static async (grains, projectId) =>
                (await grains.GetGrain<INotificationContactsGrain>(projectId).GetAsync()).Select(c => (c.Email, $"{c.Types} contact of project '{projectId}'"))),
            wordToComplete,
            "An email address, e.g. security@example.com");
}

/// <summary>Tab completion of gateways: $env:AUDITORLEANS_GATEWAY, the session's, and 127.0.0.1:30000. Never file names.</summary>
public sealed class GatewayCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var known = new List<(string, string)>();
        if (Environment.GetEnvironmentVariable(ConnectAuditClusterCommand.GatewayVariable) is { Length: > 0 } fromEnvironment)
        {
            known.AddRange(fromEnvironment.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(g => (g, $"${ConnectAuditClusterCommand.GatewayVariable}")));
        }

        if (AuditSession.Current is { } connection)
        {
            known.AddRange(connection.Settings.Gateways.Select(static g => (g, "A gateway of the session's connection")));
        }

        known.Add((ConnectAuditClusterCommand.DefaultGateway, "A silo on this machine with the default gateway port"));
        return Completion.MatchingOrTyped(known.DistinctBy(static k => k.Item1), wordToComplete, "A silo gateway as host:port");
    }
}

internal static class Completion
{
    /// <summary>How long a completer waits for the cluster.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// What the connected cluster answers for the project the command names (-ProjectId, else the
    /// session's), asked with a short timeout; nothing when not connected, on no answer or without
    /// the permission: completion never fails.
    /// </summary>
    public static IReadOnlyList<(string Value, string Tooltip)> FromCluster(
        IDictionary fakeBoundParameters, Func<IGrainFactory, string, Task<IEnumerable<(string Value, string Tooltip)>>> ask)
    {
        ArgumentNullException.ThrowIfNull(fakeBoundParameters);
        ArgumentNullException.ThrowIfNull(ask);
        if (AuditSession.Current is not { } connection)
        {
            return [];
        }

        var projectId = fakeBoundParameters["ProjectId"] is string given && Scope.IsValidProjectId(given.Trim()) ? given.Trim() : connection.Settings.ProjectId;
        try
        {
            return [.. ask(connection.Grains, projectId).WaitAsync(Timeout).GetAwaiter().GetResult()];
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return [];
        }
    }

    /// <summary>
    /// The known values that match, else one result that keeps what was typed (or an empty
    /// quoted string): an empty answer would make PowerShell complete file names instead.
    /// </summary>
    public static IEnumerable<CompletionResult> MatchingOrTyped(IEnumerable<(string Value, string Tooltip)> values, string? wordToComplete, string hint)
    {
        var matching = Matching(values, wordToComplete).ToList();
        if (matching.Count > 0)
        {
            return matching;
        }

        var typed = string.IsNullOrEmpty(wordToComplete) ? "''" : wordToComplete;
        return [new CompletionResult(typed, string.IsNullOrEmpty(wordToComplete) ? $"<{hint}>" : typed, CompletionResultType.ParameterValue, hint)];
    }

    public static IEnumerable<CompletionResult> Matching(IEnumerable<(string Value, string Tooltip)> values, string? wordToComplete)
    {
        var word = (wordToComplete ?? "").Trim('\'', '"');
        var pattern = WildcardPattern.Get(word + "*", WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant);
        return values
            .Where(v => pattern.IsMatch(v.Value))
            .Select(static v => new CompletionResult(v.Value, v.Value, CompletionResultType.ParameterValue, v.Tooltip))
            .ToList();
    }
}

/// <summary>Tab completion of the project's silences in force (asked with a short timeout), else what was typed.</summary>
public sealed class SilenceIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.MatchingOrTyped(
            Completion.FromCluster(fakeBoundParameters, static async (grains, projectId) =>
                (await grains.GetGrain<IAlertSilenceGrain>(projectId).ListAsync(false)).Select(static s => (s.Id, $"{s.State}: {string.Join(", ", s.Alerts)} ({s.Reason})"))),
            wordToComplete,
            "A silence id: 32 hex digits (Get-AuditAlertSilence)");
}

/// <summary>Tab completion of the project's 20 newest firings (asked with a short timeout), else what was typed.</summary>
public sealed class FiringIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.MatchingOrTyped(
            Completion.FromCluster(fakeBoundParameters, static async (grains, projectId) =>
                (await grains.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = projectId, Limit = 20 }))
                    .Select(static f => (f.Id, $"{f.TriggeredAt.UtcDateTime:yyyy-MM-dd HH:mm} {f.Alert} in {f.Region} ({f.Status})"))),
            wordToComplete,
            "A firing id: 32 hex digits (Get-AuditAlertHistory)");
}

/// <summary>Tab completion of IANA time zone ids (this computer's zone first). Never file names.</summary>
public sealed class TimeZoneCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var zones = new List<(string, string)> { (NewAuditAlertSilenceCommand.LocalZone(), "This computer's time zone") };
        foreach (var zone in TimeZoneInfo.GetSystemTimeZones())
        {
            var id = zone.HasIanaId ? zone.Id : TimeZoneInfo.TryConvertWindowsIdToIanaId(zone.Id, out var iana) ? iana : null;
            if (id is not null)
            {
                zones.Add((id, zone.DisplayName));
            }
        }

        zones.Add(("UTC", "Coordinated Universal Time"));
        return Completion.MatchingOrTyped(zones.DistinctBy(static z => z.Item1), wordToComplete, "An IANA time zone, e.g. Europe/Paris");
    }
}

/// <summary>
/// Tab completion of webhook contacts: the ids (wh_...) of the project's webhooks, each with its
/// format and shortened URL, when the session is connected; else what was typed.
/// </summary>
public sealed class WebhookIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.MatchingOrTyped(
            Completion.FromCluster(fakeBoundParameters, static async (grains, projectId) =>
                (await grains.GetGrain<INotificationContactsGrain>(projectId).GetWebhooksAsync()).Select(static w => (w.Id, $"{w.Format} {w.DisplayUrl} ({w.Types})"))),
            wordToComplete,
            "A webhook contact's id, wh_ and 24 hex digits (Get-AuditNotificationContact)");
}

/// <summary>Tab completion of event kinds: Api, Authentication, System.</summary>
public sealed class EventKindCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Matching(
            [
                (nameof(EventKind.Api), "API calls: method, status code, principal"),
                (nameof(EventKind.Authentication), "Console sign-ins: result, failure reason, country"),
                (nameof(EventKind.System), "Actions of the provider's systems: cron jobs, notifications"),
            ],
            wordToComplete);
}

/// <summary>
/// Tab completion of alert names with the custom rules of the project-region (asked with a short
/// timeout when the session is connected; -Region, else fr-par). Never file names.
/// </summary>
public sealed class AlertOrRuleNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var known = new List<(string, string)>();
        if (!commandName.Contains("Rule", StringComparison.OrdinalIgnoreCase))
        {
            known.AddRange(AlertCatalog.All.Select(static a => (a.Name.ToString(), $"{a.Severity}: {a.Description}")));
        }

        if (commandName.Contains("Silence", StringComparison.OrdinalIgnoreCase))
        {
            known.Add((nameof(AlertName.CustomRule), "Every custom rule"));
        }

        var region = fakeBoundParameters["Region"] switch
        {
            string r => r,
            string[] { Length: > 0 } rs => rs[0],
            _ => Scope.GlobalRegion,
        };
        known.AddRange(Completion.FromCluster(fakeBoundParameters, async (grains, projectId) =>
            (await grains.GetGrain<IAlertConfigGrain>(Scope.Key(projectId, region.Trim().ToLowerInvariant())).GetAsync())
                .Rules.Select(static r => (r.Name, $"Rule ({r.Severity}): {r.Query}"))));
        return Completion.MatchingOrTyped(known, wordToComplete, "An alert or rule name");
    }
}
