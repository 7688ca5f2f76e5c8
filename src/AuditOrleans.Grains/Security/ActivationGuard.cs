using Orleans.Metadata;
using AuditOrleans.Grains.Detection;
using AuditOrleans.Grains.Lifecycle;
using AuditOrleans.Grains.Notifications;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Refuses to activate a project grain (alert configuration, contacts, detector, silences,
/// acknowledgements) for a caller
/// that could not use it, before its state is read from the database. Orleans runs incoming
/// call filters inside the target activation, that is after activation; this guard runs at the
/// first stage of the activation's lifecycle, where the request context of the call that
/// caused the activation is already in place. An activation is allowed for the silo's own calls
/// (they carry the cluster's <see cref="InternalCallToken"/>, added by
/// <see cref="InternalCallMarker"/>) and for a key whose id exists, is not revoked and covers
/// the grain's project. The secret itself is not derived here (that costly check, throttled, is
/// the call filter's, which runs right after and checks the method's permission): an attacker
/// cannot use activations to guess secrets unthrottled.
/// </summary>
public sealed class ActivationGuard(
    ApiKeyAuthenticator authenticator,
    InternalCallToken internalToken,
    RefusalLog refusals,
    Microsoft.Extensions.Logging.ILogger<ActivationGuard> logger) : IConfigureGrainContextProvider
{
    /// <summary>The guarded grain classes and the permission named when a caller may not even activate one.</summary>
    private static readonly (string Type, Permission Permission)[] GuardedTypes =
    [
        (typeof(AlertConfigGrain).FullName!, Permission.ViewAlerts),
        (typeof(NotificationContactsGrain).FullName!, Permission.ViewContacts),
        (typeof(DetectorGrain).FullName!, Permission.Internal),
        (typeof(AlertSilenceGrain).FullName!, Permission.ViewAlerts),
        (typeof(AlertAcknowledgementGrain).FullName!, Permission.ManageAlerts),
    ];

    public bool TryGetConfigurator(GrainType grainType, GrainProperties properties, out IConfigureGrainContext configuration)
    {
        configuration = null!;
        if (!properties.Properties.TryGetValue(WellKnownGrainTypeProperties.FullTypeName, out var typeName))
        {
            return false;
        }

        foreach (var (type, permission) in GuardedTypes)
        {
            if (typeName.StartsWith(type, StringComparison.Ordinal) && (typeName.Length == type.Length || typeName[type.Length] == ','))
            {
                configuration = new Configurator(this, permission);
                return true;
            }
        }

        return false;
    }

    /// <summary>Throws <see cref="AccessDeniedException"/> unless the current request may activate the grain <paramref name="grainId"/>.</summary>
    public async Task CheckAsync(GrainId grainId, Permission permission)
    {
        if (internalToken.IsPresent())
        {
            return;
        }

        var presented = RequestContext.Get(ApiKeyHeaders.RequestContextKey) as string;
        var principal = await authenticator.PeekAsync(presented);
        var project = GrainPermissions.ProjectOf(ProjectSource.GrainKey, grainId, null);
        if (principal is null)
        {
            var decision = string.IsNullOrEmpty(presented) ? AccessDecision.NoKey : AccessDecision.InvalidKey;
            throw Refused(grainId, AccessControlFilter.Refusal(decision, permission, null, project), decision, null);
        }

        if (!principal.CoversProject(project))
        {
            var decision = principal.Has(permission) ? AccessDecision.OtherProject : AccessDecision.MissingPermission;
            throw Refused(grainId, AccessControlFilter.Refusal(decision, permission, principal, project), decision, principal.KeyId);
        }
    }

    private AccessDeniedException Refused(GrainId grainId, AccessDeniedException refusal, AccessDecision decision, string? keyId)
    {
        refusals.Refused(logger, "access", $"activation of {grainId}: {decision}, key {keyId ?? "-"}");
        return ExpectedRefusals.Mark(refusal);
    }

    private sealed class Configurator(ActivationGuard guard, Permission permission) : IConfigureGrainContext
    {
        public void Configure(IGrainContext context) =>
            context.ObservableLifecycle.Subscribe(nameof(ActivationGuard), GrainLifecycleStage.First, _ => guard.CheckAsync(context.GrainId, permission));
    }
}
