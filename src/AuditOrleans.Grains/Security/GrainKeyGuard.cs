using Microsoft.Extensions.Options;
using Orleans.Metadata;
using AuditOrleans.Grains.Detection;
using AuditOrleans.Grains.Lifecycle;
using AuditOrleans.Grains.Notifications;
using AuditOrleans.Grains.Storage;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Refuses to activate a project grain (alert configuration, contacts, detector) whose key is
/// not a valid project id or <c>{projectId}/{region}</c> with a known region, for every caller,
/// Owner keys and the silo itself included, and whether access control is on or off. It runs
/// just after <see cref="ActivationGuard"/> (so a caller without access is refused as such,
/// without learning anything about the key) and before any state is read, so a hostile key
/// (control characters, an unknown region, 10 KB of text) never reaches the database and
/// leaves no activation behind. The caller gets an <see cref="ArgumentException"/> that says
/// what is wrong with the key.
/// </summary>
public sealed class GrainKeyGuard(
    IOptions<AuditOrleansOptions> options,
    RefusalLog refusals,
    Microsoft.Extensions.Logging.ILogger<GrainKeyGuard> logger) : IConfigureGrainContextProvider
{
    /// <summary>Runs after <see cref="ActivationGuard"/> (stage First) and long before state is set up.</summary>
    public const int Stage = GrainLifecycleStage.First + 1;

    private static readonly (string Type, bool WithRegion)[] GuardedTypes =
    [
        (typeof(AlertConfigGrain).FullName!, true),
        (typeof(DetectorGrain).FullName!, true),
        (typeof(NotificationContactsGrain).FullName!, false),
        (typeof(AlertSilenceGrain).FullName!, false),
        (typeof(AlertAcknowledgementGrain).FullName!, false),
    ];

    public bool TryGetConfigurator(GrainType grainType, GrainProperties properties, out IConfigureGrainContext configuration)
    {
        configuration = null!;
        if (!properties.Properties.TryGetValue(WellKnownGrainTypeProperties.FullTypeName, out var typeName))
        {
            return false;
        }

        foreach (var (type, withRegion) in GuardedTypes)
        {
            if (typeName.StartsWith(type, StringComparison.Ordinal) && (typeName.Length == type.Length || typeName[type.Length] == ','))
            {
                configuration = new Configurator(this, withRegion);
                return true;
            }
        }

        return false;
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="key"/> is a valid key for the grain.</summary>
    public void Check(string key, bool withRegion)
    {
        if (withRegion)
        {
            var slash = key.LastIndexOf('/');
            if (slash <= 0 || slash == key.Length - 1)
            {
                throw new ArgumentException($"'{Scope.Printable(key)}' is not a project-region key ({{projectId}}/{{region}}).");
            }

            _ = GrainKeys.ProjectRegion(key, options.Value.Regions);
        }
        else if (!Scope.IsValidProjectId(key))
        {
            throw new ArgumentException(Scope.DescribeProjectIdRule(key));
        }
    }

    private void Refused(GrainId grainId, ArgumentException exception) =>
        refusals.Refused(logger, "grain key", $"activation of {grainId}: {exception.Message}");

    /// <remarks>
    /// The key is checked when the activation's context is configured (the check reads only the
    /// key and the configured regions), and only a refused key subscribes to the activation's
    /// lifecycle, to fail it at <see cref="Stage"/>: a valid key leaves nothing in the
    /// activation (a lifecycle subscription is kept for the activation's life, and a detector
    /// is kept per active project-region).
    /// </remarks>
    private sealed class Configurator(GrainKeyGuard guard, bool withRegion) : IConfigureGrainContext
    {
        public void Configure(IGrainContext context)
        {
            Exception failure;
            try
            {
                guard.Check(context.GrainId.Key.ToString(), withRegion);
                return;
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            context.ObservableLifecycle.Subscribe(nameof(GrainKeyGuard), Stage, _ =>
            {
                if (failure is ArgumentException refused)
                {
                    guard.Refused(context.GrainId, refused);
                    return Task.FromException(ExpectedRefusals.Mark(refused));
                }

                return Task.FromException(failure);
            });
        }
    }
}
