using System.Net;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Lifecycle;

/// <summary>
/// The silences and maintenance windows of one project (key: project id), stored in the
/// database: a firing they hold is recorded with the silence's id and emailed to nobody
/// (docs/alerts.md, Silences). Every silence records the key that created it and the key that
/// ended it early; ended and expired silences stay listed with their state.
/// </summary>
public sealed partial class AlertSilenceGrain(
    LifecycleStore store,
    IOptions<AuditOrleansOptions> options,
    TimeProvider time,
    ILogger<AlertSilenceGrain> logger) : Grain, IAlertSilenceGrain
{
    /// <summary>Longest time a principal id filter may be.</summary>
    public const int MaxPrincipalLength = 256;

    /// <summary>Longest window of a weekly schedule.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(7);

    private string projectId = "";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        projectId = GrainKeys.Project(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public async Task<AlertSilence> CreateAsync(AlertSilenceRequest request)
    {
        var now = time.GetUtcNow();
        var silence = Check(request, projectId, options.Value.Regions, now) with
        {
            Id = Guid.CreateVersion7(now).ToString("N"),
            CreatedBy = ActingKey.Current(),
        };
        await CheckRulesExistAsync(silence);
        if (await store.CountInForceAsync(projectId, now) >= SilenceLimits.MaxInForce)
        {
            throw new InvalidOperationException(
                $"Project {projectId} already has {SilenceLimits.MaxInForce} silences in force: end some with Stop-AuditAlertSilence before adding another.");
        }

        await store.InsertSilenceAsync(silence);
        LogCreated(logger, silence.Id, projectId, string.Join(',', silence.Alerts.Select(static a => a.ToString()).Concat(silence.Rules)), silence.Region ?? "*", silence.CreatedBy);
        return (await store.ListSilencesAsync(projectId, includeEnded: true, now, silence.Id))[0];
    }

    public Task<IReadOnlyList<AlertSilence>> ListAsync(bool includeEnded) => store.ListSilencesAsync(projectId, includeEnded, time.GetUtcNow());

    public async Task<AlertSilence?> EndAsync(string silenceId, string? comment)
    {
        var id = LifecycleText.Id(silenceId, "silence");
        var text = LifecycleText.Optional(comment, SilenceLimits.MaxCommentLength, "comment");
        var now = time.GetUtcNow();
        var current = (await store.ListSilencesAsync(projectId, includeEnded: true, now, id)).FirstOrDefault();
        switch (current?.State)
        {
            case null:
                return null;
            case SilenceState.Ended:
                throw new InvalidOperationException(
                    $"Silence {id} already ended at {AuditEventJson.FormatTime(current.EndedAt!.Value)} (by key {current.EndedBy}): nothing changed.");
            case SilenceState.Expired:
                throw new InvalidOperationException($"Silence {id} already expired at {AuditEventJson.FormatTime(current.EndsAt!.Value)}: nothing changed.");
        }

        var by = ActingKey.Current();
        await store.EndSilenceAsync(projectId, id, now, by, text);
        var silence = (await store.ListSilencesAsync(projectId, includeEnded: true, now, id))[0];
        LogEnded(logger, id, projectId, by, silence.HeldFirings);
        return silence;
    }

    /// <summary>
    /// The silence a request asks for, checked and normalised (without id and author), or an
    /// <see cref="ArgumentException"/> that says what to change.
    /// </summary>
    public static AlertSilence Check(AlertSilenceRequest request, string projectId, IReadOnlyCollection<string> regions, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        var alerts = request.Alerts ?? [];
        var rules = CheckRules(request.Rules);
        if ((alerts.Count == 0 && rules.Count == 0) || alerts.Any(static a => !Enum.IsDefined(a)))
        {
            throw new ArgumentException($"Name the alerts the silence holds, one or more of: {AlertCatalog.ValidNames}, CustomRule (every custom rule), or custom rules by name.");
        }

        var region = request.Region is null ? null
            : Scope.NormalizeRegion(request.Region, regions) ?? throw new ArgumentException(Scope.DescribeUnknownRegion(request.Region, regions));
        var principal = LifecycleText.Optional(request.PrincipalId, MaxPrincipalLength, "principal id");
        string? sourceIp = null;
        if (!string.IsNullOrWhiteSpace(request.SourceIp))
        {
            var text = request.SourceIp.Trim();
            sourceIp = IPAddress.TryParse(text, out var address)
                && (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 || text.Count(static c => c == '.') == 3)
                ? address.ToString()
                : throw new ArgumentException($"'{Scope.Printable(request.SourceIp)}' is not an IP address: give one like 203.0.113.7 or 2001:db8::7.");
        }

        var reason = LifecycleText.Required(request.Reason, SilenceLimits.MaxReasonLength, "reason");
        var starts = request.StartsAt ?? now;
        var ends = request.EndsAt;
        if (request.Duration is { } duration)
        {
            if (request.Weekly is not null || request.EndsAt is not null)
            {
                throw new ArgumentException("Give either an end or a duration, not both (a weekly window has its duration in its schedule).");
            }

            if (duration <= TimeSpan.Zero)
            {
                throw new ArgumentException($"The duration {duration} must be positive.");
            }

            ends = starts + duration;
        }

        WeeklyWindow? weekly = null;
        if (request.Weekly is { } w)
        {
            const WeekDays all = WeekDays.Sunday | WeekDays.Monday | WeekDays.Tuesday | WeekDays.Wednesday | WeekDays.Thursday | WeekDays.Friday | WeekDays.Saturday;
            if (w.Days == WeekDays.None || (w.Days & ~all) != 0)
            {
                throw new ArgumentException("Give the days of the week the window starts on (for example Saturday, Sunday).");
            }

            if (w.StartTime < TimeSpan.Zero || w.StartTime >= TimeSpan.FromDays(1) || w.StartTime.Ticks % TimeSpan.TicksPerMinute != 0)
            {
                throw new ArgumentException($"The window's start time {w.StartTime} is not a time of day in whole minutes: give one from 00:00 to 23:59.");
            }

            if (w.Duration <= TimeSpan.Zero || w.Duration > MaxWindow || w.Duration.Ticks % TimeSpan.TicksPerMinute != 0)
            {
                throw new ArgumentException($"The window's duration {w.Duration} must be whole minutes, more than 0 and at most 7 days.");
            }

            weekly = w with { TimeZone = SilenceSchedule.CanonicalZoneId(w.TimeZone) };
        }
        else if (ends is null)
        {
            throw new ArgumentException("Give the silence an end (-End or -Duration), or a weekly schedule: a silence without either would hold alerts forever.");
        }

        if (ends is { } end)
        {
            if (end <= starts)
            {
                throw new ArgumentException($"The end ({AuditEventJson.FormatTime(end)}) is not after the start ({AuditEventJson.FormatTime(starts)}).");
            }

            if (end <= now)
            {
                throw new ArgumentException($"The end ({AuditEventJson.FormatTime(end)}) is already past: give an end in the future.");
            }
        }

        return new AlertSilence
        {
            Id = "",
            ProjectId = projectId,
            Region = region,
            Alerts = [.. alerts.Distinct().Order()],
            Rules = rules,
            PrincipalId = principal,
            SourceIp = sourceIp,
            StartsAt = starts,
            EndsAt = ends,
            Weekly = weekly,
            Reason = reason,
            CreatedBy = "",
            CreatedAt = now,
        };
    }

    /// <summary>
    /// Refuses a rule name that no region the silence covers has (a mistyped alert name is taken
    /// as a rule name by New-AuditAlertSilence: it must not make a silence that holds nothing).
    /// </summary>
    private async Task CheckRulesExistAsync(AlertSilence silence)
    {
        if (silence.Rules.Count == 0)
        {
            return;
        }

        var known = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        IEnumerable<string> regions = silence.Region is { } one ? [one] : options.Value.Regions;
        foreach (var region in regions)
        {
            var configuration = await GrainFactory.GetGrain<IAlertConfigGrain>(Scope.Key(projectId, region)).GetAsync();
            known.UnionWith(configuration.Rules.Select(static rule => rule.Name));
        }

        var unknown = silence.Rules.Where(name => !known.Contains(name)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException(
                $"'{string.Join("', '", unknown)}' is neither an alert nor a custom rule of project {projectId} in {silence.Region ?? "any region"}. " +
                $"Alerts: {AlertCatalog.ValidNames}, CustomRule (every rule); rules: see Get-AuditAlertRule.");
        }
    }

    /// <summary>The rule names of a request: trimmed, well-formed, each once (case-insensitive), sorted.</summary>
    private static IReadOnlyList<string> CheckRules(IReadOnlyList<string>? names)
    {
        if (names is not { Count: > 0 })
        {
            return [];
        }

        var rules = new List<string>();
        foreach (var name in names)
        {
            var trimmed = name?.Trim() ?? "";
            if (!RuleLimits.IsValidName(trimmed))
            {
                throw new ArgumentException(
                    $"The rule name '{Scope.Printable(trimmed, 60)}' is not valid: give 1 to {RuleLimits.MaxNameLength} letters, digits, '-', '_' or '.' (the name of a rule of Get-AuditAlertRule).");
            }

            if (AlertCatalog.TryParse(trimmed, out _))
            {
                throw new ArgumentException($"'{trimmed}' is an alert, not a rule: name it among the alerts of the silence.");
            }

            if (!rules.Contains(trimmed, StringComparer.OrdinalIgnoreCase))
            {
                rules.Add(trimmed);
            }
        }

        if (rules.Count > SilenceLimits.MaxRules)
        {
            throw new ArgumentException($"A silence holds at most {SilenceLimits.MaxRules} rules ({rules.Count} given): split it into several silences.");
        }

        return [.. rules.Order(StringComparer.OrdinalIgnoreCase)];
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silence {SilenceId} created in {ProjectId} for {Alerts} in region {Region} by key {KeyId}")]
    private static partial void LogCreated(ILogger logger, string silenceId, string projectId, string alerts, string region, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silence {SilenceId} of {ProjectId} ended by key {KeyId}; it held {HeldFirings} firings")]
    private static partial void LogEnded(ILogger logger, string silenceId, string projectId, string keyId, int heldFirings);
}
