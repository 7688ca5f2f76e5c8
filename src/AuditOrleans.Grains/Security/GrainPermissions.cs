using System.Reflection;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// The permission each client-callable grain method needs. A method missing here (a new
/// interface, Orleans' own management grains) needs <see cref="Permission.Internal"/>: only
/// Owner keys and the silo itself may call it. Add a line here when a grain interface grows.
/// </summary>
public static class GrainPermissions
{
    private static readonly MethodRule InternalRule = new(Permission.Internal, ProjectSource.None);

    private static readonly Dictionary<(Type, string), MethodRule> Rules = new()
    {
        [(typeof(IIngestGrain), nameof(IIngestGrain.IngestAsync))] = new(Permission.WriteEvents, ProjectSource.PerEvent),

        [(typeof(IAlertConfigGrain), nameof(IAlertConfigGrain.GetAsync))] = new(Permission.ViewAlerts, ProjectSource.GrainKey),
        [(typeof(IAlertConfigGrain), nameof(IAlertConfigGrain.SetActiveAsync))] = new(Permission.ManageAlerts, ProjectSource.GrainKey),
        [(typeof(IAlertConfigGrain), nameof(IAlertConfigGrain.CreateRuleAsync))] = new(Permission.ManageAlerts, ProjectSource.GrainKey),
        [(typeof(IAlertConfigGrain), nameof(IAlertConfigGrain.UpdateRuleAsync))] = new(Permission.ManageAlerts, ProjectSource.GrainKey),
        [(typeof(IAlertConfigGrain), nameof(IAlertConfigGrain.RemoveRuleAsync))] = new(Permission.ManageAlerts, ProjectSource.GrainKey),
        [(typeof(IAlertConfigGrain), nameof(IAlertConfigGrain.SetRulesEnabledAsync))] = new(Permission.ManageAlerts, ProjectSource.GrainKey),

        // Replaying the caller's own events shows nothing stored; replaying stored events shows them.
        [(typeof(IAlertConfigGrain), nameof(IAlertConfigGrain.TestRuleOnEventsAsync))] = new(Permission.ViewAlerts, ProjectSource.GrainKey),
        [(typeof(IAlertConfigGrain), nameof(IAlertConfigGrain.TestRuleOnStoredAsync))] = new(Permission.ViewEvents, ProjectSource.GrainKey),

        [(typeof(IAuditLogGrain), nameof(IAuditLogGrain.QueryAsync))] = new(Permission.ViewEvents, ProjectSource.FirstArgument),
        [(typeof(IAuditLogGrain), nameof(IAuditLogGrain.VerifyAsync))] = new(Permission.VerifyIntegrity, ProjectSource.FirstArgument),
        [(typeof(IAuditLogGrain), nameof(IAuditLogGrain.VerifyAgainstAsync))] = new(Permission.VerifyIntegrity, ProjectSource.FirstArgument),
        [(typeof(IAuditLogGrain), nameof(IAuditLogGrain.GetCheckpointsAsync))] = new(Permission.VerifyIntegrity, ProjectSource.FirstArgument),
        [(typeof(IAuditLogGrain), nameof(IAuditLogGrain.GetAlertHistoryAsync))] = new(Permission.ViewAlertHistory, ProjectSource.FirstArgument),
        [(typeof(IAuditLogGrain), nameof(IAuditLogGrain.GetEventAsync))] = new(Permission.ViewEvents, ProjectSource.FirstArgument),
        [(typeof(IAuditLogGrain), nameof(IAuditLogGrain.FindEventAsync))] = new(Permission.ViewEvents, ProjectSource.FirstArgument),
        [(typeof(IAuditLogGrain), nameof(IAuditLogGrain.GetActivityAsync))] = new(Permission.ViewEvents, ProjectSource.FirstArgument),

        // It names every project of the installation: Owner keys only.
        [(typeof(IAuditLogGrain), nameof(IAuditLogGrain.ListProjectsAsync))] = InternalRule,

        [(typeof(INotificationContactsGrain), nameof(INotificationContactsGrain.GetAsync))] = new(Permission.ViewContacts, ProjectSource.GrainKey),
        [(typeof(INotificationContactsGrain), nameof(INotificationContactsGrain.AddAsync))] = new(Permission.ManageContacts, ProjectSource.GrainKey),
        [(typeof(INotificationContactsGrain), nameof(INotificationContactsGrain.RemoveAsync))] = new(Permission.ManageContacts, ProjectSource.GrainKey),
        [(typeof(INotificationContactsGrain), nameof(INotificationContactsGrain.GetWebhooksAsync))] = new(Permission.ViewContacts, ProjectSource.GrainKey),
        [(typeof(INotificationContactsGrain), nameof(INotificationContactsGrain.AddWebhookAsync))] = new(Permission.ManageContacts, ProjectSource.GrainKey),
        [(typeof(INotificationContactsGrain), nameof(INotificationContactsGrain.RemoveWebhookAsync))] = new(Permission.ManageContacts, ProjectSource.GrainKey),
        [(typeof(INotificationContactsGrain), nameof(INotificationContactsGrain.ResetWebhookSecretAsync))] = new(Permission.ManageContacts, ProjectSource.GrainKey),

        [(typeof(IAlertSilenceGrain), nameof(IAlertSilenceGrain.ListAsync))] = new(Permission.ViewAlerts, ProjectSource.GrainKey),
        [(typeof(IAlertSilenceGrain), nameof(IAlertSilenceGrain.CreateAsync))] = new(Permission.ManageAlerts, ProjectSource.GrainKey),
        [(typeof(IAlertSilenceGrain), nameof(IAlertSilenceGrain.EndAsync))] = new(Permission.ManageAlerts, ProjectSource.GrainKey),

        [(typeof(IAlertAcknowledgementGrain), nameof(IAlertAcknowledgementGrain.TakeAsync))] = new(Permission.ManageAlerts, ProjectSource.GrainKey),
        [(typeof(IAlertAcknowledgementGrain), nameof(IAlertAcknowledgementGrain.CloseAsync))] = new(Permission.ManageAlerts, ProjectSource.GrainKey),

        [(typeof(INotificationGrain), nameof(INotificationGrain.SendTestAsync))] = new(Permission.ManageAlerts, ProjectSource.FirstArgument),
        [(typeof(INotificationGrain), nameof(INotificationGrain.WakeAsync))] = InternalRule,

        [(typeof(IDetectorGrain), nameof(IDetectorGrain.AppendAsync))] = InternalRule,
        [(typeof(IDetectorGrain), nameof(IDetectorGrain.GetStatusAsync))] = InternalRule,
        [(typeof(IDetectorGrain), nameof(IDetectorGrain.ApplyConfigurationAsync))] = InternalRule,
        [(typeof(IDetectorGrain), nameof(IDetectorGrain.CheckEpisodeAsync))] = InternalRule,

        [(typeof(IApiKeyGrain), nameof(IApiKeyGrain.CreateAsync))] = new(Permission.ManageApiKeys, ProjectSource.None),
        [(typeof(IApiKeyGrain), nameof(IApiKeyGrain.ListAsync))] = new(Permission.ManageApiKeys, ProjectSource.None),
        [(typeof(IApiKeyGrain), nameof(IApiKeyGrain.RevokeAsync))] = new(Permission.ManageApiKeys, ProjectSource.None),
    };

    /// <summary>The rule of an interface method; <see cref="Permission.Internal"/> for anything not listed.</summary>
    public static MethodRule For(MethodInfo? interfaceMethod) =>
        interfaceMethod?.DeclaringType is { } type && Rules.TryGetValue((type, interfaceMethod.Name), out var rule) ? rule : InternalRule;

    /// <summary>Every listed method, for tests and documentation.</summary>
    public static IReadOnlyDictionary<(Type Interface, string Method), MethodRule> All => Rules;

    /// <summary>
    /// The project a call acts on, read from its grain key or first argument; null when it
    /// cannot be read (a malformed key or argument: only Owner keys get past that, and the
    /// grain then reports what is wrong).
    /// </summary>
    public static string? ProjectOf(ProjectSource source, GrainId target, object? firstArgument)
    {
        switch (source)
        {
            case ProjectSource.GrainKey:
                var key = target.Key.ToString();
                var slash = key.LastIndexOf('/');
                var project = slash >= 0 ? key[..slash] : key;
                return Scope.IsValidProjectId(project) ? project : null;
            case ProjectSource.FirstArgument:
                var id = firstArgument switch
                {
                    string s => s,
                    AuditQuery q => q.ProjectId,
                    AlertHistoryQuery h => h.ProjectId,
                    ActivityQuery a => a.ProjectId,
                    _ => null,
                };
                return Scope.IsValidProjectId(id) ? id : null;
            default:
                return null;
        }
    }
}
