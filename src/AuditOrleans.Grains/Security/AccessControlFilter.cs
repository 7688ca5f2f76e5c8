using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Access control on every grain call that comes from an external client (docs/security.md).
/// Whether a call is a client's is read from its sender id, which <see cref="GatewayGuard"/>
/// has pinned, for every message that entered through the gateway, to the id of the client
/// connection it came in on: nothing a client sets (a forged sender, request-context entries,
/// headers) makes its call internal. Calls from grains and from a silo's own hosted client
/// (background services, the web console, which checks keys itself) never pass a gateway and
/// are trusted. For a client call the filter reads the key from
/// <c>RequestContext["auditorleans-api-key"]</c>, validates it (failed checks throttled per
/// client address and key id), checks the permission the method needs
/// (<see cref="GrainPermissions"/>) and the project it targets, removes the key from the request
/// context (so it never travels further), and refuses with an <see cref="AccessDeniedException"/>
/// otherwise. Refusals are logged one line each, rate-limited (<see cref="RefusalLog"/>).
/// </summary>
/// <remarks>
/// Orleans runs incoming filters inside the target activation, after it was activated.
/// <see cref="ActivationGuard"/> refuses, before any state is read, the activation of a project
/// grain for a call whose key is unknown or not allowed on that project, so a refused caller
/// leaves no activation behind.
/// </remarks>
public sealed partial class AccessControlFilter(
    ApiKeyAuthenticator authenticator,
    ClientSources sources,
    RefusalLog refusals,
    ILogger<AccessControlFilter> logger) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        // Only the silo's own outgoing calls carry the internal token, and only to decide activation.
        RequestContext.Remove(InternalCallToken.RequestContextKey);
        if (!IsExternalClient(context.SourceId))
        {
            CallerContext.Set(null);
            await context.Invoke();
            return;
        }

        // Only the silo's own callers may name the acting key (ActingKey); a client's is its verified key.
        RequestContext.Remove(ActingKey.RequestContextKey);
        var target = context.TargetId;
        if (GrainTypePrefix.IsSystemTarget(target))
        {
            // Orleans' own targets: the gateway guard lets a client reach only those it needs to
            // connect (the cluster manifest), which need no key; it closes the connection otherwise.
            CallerContext.Set(null);
            await context.Invoke();
            return;
        }

        var rule = GrainTypePrefix.IsGrainService(target.Type) ? new MethodRule(Permission.Internal, ProjectSource.None) : GrainPermissions.For(context.InterfaceMethod);
        var presented = RequestContext.Get(ApiKeyHeaders.RequestContextKey) as string;
        RequestContext.Remove(ApiKeyHeaders.RequestContextKey);
        var source = sources.Of(context.SourceId);
        ApiKeyPrincipal? principal;
        try
        {
            principal = await authenticator.AuthenticateAsync(presented, source == "unknown" ? "client " + context.SourceId : source);
        }
        catch (AccessDeniedException)
        {
            refusals.Refused(logger, "throttled", $"{context.InterfaceName}.{context.MethodName} from {source}: too many failed key checks");
            throw;
        }

        var project = rule.Project is ProjectSource.GrainKey or ProjectSource.FirstArgument
            ? GrainPermissions.ProjectOf(rule.Project, context.TargetId, context.Request.GetArgumentCount() > 0 ? context.Request.GetArgument(0) : null)
            : null;
        var decision = ApiKeyAuthenticator.Decide(principal, rule.Permission, project, projectChecked: rule.Project is ProjectSource.GrainKey or ProjectSource.FirstArgument);
        if (decision == AccessDecision.InvalidKey && string.IsNullOrEmpty(presented))
        {
            decision = AccessDecision.NoKey;
        }

        if (decision != AccessDecision.Allowed)
        {
            refusals.Refused(logger, "access", $"{context.InterfaceName}.{context.MethodName} (needs {rule.Permission}) from {source}: {decision}, key {principal?.KeyId ?? "-"}");
            throw Refusal(decision, rule.Permission, principal, project);
        }

        CallerContext.Set(principal);
        await context.Invoke();
    }

    /// <summary>True when <paramref name="source"/> is an Orleans client (external, or a silo's hosted client).</summary>
    public static bool IsFromClient(GrainId? source) => source is not { } id || GrainTypePrefix.IsClient(id);

    /// <summary>
    /// True when a call was sent by an external client, that is came in through a gateway: every
    /// client id but a silo's hosted client, which the gateway refuses (<see cref="GatewayGuard"/>).
    /// A call with no sender id at all is treated as external.
    /// </summary>
    public static bool IsExternalClient(GrainId? source) => source is not { } id || (GrainTypePrefix.IsClient(id) && !GatewayGuard.IsHostedClient(id));

    /// <summary>The exception for a refused call: names the missing permission, never whether another project exists.</summary>
    public static AccessDeniedException Refusal(AccessDecision decision, Permission permission, ApiKeyPrincipal? principal, string? project) => decision switch
    {
        AccessDecision.NoKey => new(permission,
            "Access denied: no API key was presented, and every operation needs one. " +
            $"Connect with Connect-AuditCluster -ApiKey <key> or set $env:{ApiKeyHeaders.EnvironmentVariable}; " +
            $"on a new installation the first Owner key is in the silo's data/{SecurityBootstrap.OwnerKeyFileName}, and an Owner creates other keys with New-AuditApiKey."),
        AccessDecision.InvalidKey => new(permission,
            $"Access denied: this operation needs the {permission} permission and the API key presented is not valid (mistyped, unknown or revoked). " +
            "Check the key, or ask an Owner for a new one (New-AuditApiKey)."),
        AccessDecision.MissingPermission => new(permission,
            $"Access denied: this operation needs the {permission} permission, which the {principal!.Role} role of API key {principal.KeyId} does not grant. " +
            "Use a key whose role grants it."),
        _ => new(permission,
            $"Access denied: this operation needs the {permission} permission on project '{Scope.Printable(project, Scope.MaxProjectIdLength)}'; " +
            $"API key {principal!.KeyId} ({principal.Role}) grants it on its own project only. Use a key of that project."),
    };
}
