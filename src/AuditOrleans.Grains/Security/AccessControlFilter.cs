using Microsoft.Extensions.Logging;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// The caller of the grain call being executed, as established by <see cref="AccessControlFilter"/>:
/// the API key's principal for a client call, null for the silo's own calls (and when access
/// control is off). Grains that check per item (ingestion: the project of each event) read it.
/// </summary>
public static class CallerContext
{
    private static readonly AsyncLocal<ApiKeyPrincipal?> Current = new();

    public static ApiKeyPrincipal? Principal => Current.Value;

    /// <summary>Sets the caller for the rest of the current asynchronous flow.</summary>
    public static void Set(ApiKeyPrincipal? principal) => Current.Value = principal;
}

/// <summary>
/// Access control on every grain call that comes from a client (SPEC section 8). Grain-to-grain
/// calls inside the cluster and the silos' own in-process calls (hosted client carrying the
/// cluster's <see cref="InternalCallToken"/>) are trusted. For a client call the filter reads
/// the key from <c>RequestContext["auditorleans-api-key"]</c>, validates it, checks the
/// permission the method needs (<see cref="GrainPermissions"/>) and the project it targets,
/// removes the key from the request context (so it never travels further), and refuses with
/// an <see cref="AccessDeniedException"/> otherwise.
/// </summary>
/// <remarks>
/// Orleans runs incoming filters inside the target activation, after it was activated. The
/// grains activated by client calls either have no state to load (stateless workers) or check
/// their key in <c>OnActivateAsync</c>; <see cref="ActivationGuard"/> refuses, before any state
/// is read, the activation of a project grain for a call whose key is invalid or not allowed
/// on that project, so a refused caller leaves no activation behind.
/// </remarks>
public sealed partial class AccessControlFilter(
    ApiKeyAuthenticator authenticator,
    InternalCallToken internalToken,
    ILogger<AccessControlFilter> logger) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var target = context.TargetId;
        if (GrainTypePrefix.IsSystemTarget(target) || GrainTypePrefix.IsGrainService(target.Type))
        {
            // Orleans' own plumbing (membership, manifests, directory): not an application grain.
            await context.Invoke();
            return;
        }

        var internalCall = internalToken.IsPresent();
        RequestContext.Remove(InternalCallToken.RequestContextKey);
        if (!IsFromClient(context.SourceId) || internalCall)
        {
            CallerContext.Set(null);
            await context.Invoke();
            return;
        }

        var rule = GrainPermissions.For(context.InterfaceMethod);
        var presented = RequestContext.Get(ApiKeyHeaders.RequestContextKey) as string;
        RequestContext.Remove(ApiKeyHeaders.RequestContextKey);
        var principal = await authenticator.AuthenticateAsync(presented);
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
            LogRefused(logger, context.InterfaceName, context.MethodName, rule.Permission, decision, principal?.KeyId ?? "-");
            throw Refusal(decision, rule.Permission, principal, project);
        }

        CallerContext.Set(principal);
        await context.Invoke();
    }

    /// <summary>True when <paramref name="source"/> is an Orleans client (external, or a silo's hosted client).</summary>
    public static bool IsFromClient(GrainId? source) => source is not { } id || GrainTypePrefix.IsClient(id);

    /// <summary>The exception for a refused call: names the missing permission, never whether another project exists.</summary>
    public static AccessDeniedException Refusal(AccessDecision decision, Permission permission, ApiKeyPrincipal? principal, string? project) => decision switch
    {
        AccessDecision.NoKey => new(permission,
            $"Access denied: this operation needs the {permission} permission and no API key was presented. " +
            $"Connect with Connect-AuditCluster -ApiKey <key> or set ${ApiKeyHeaders.EnvironmentVariable}; an Owner creates keys with New-AuditApiKey."),
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Interface}.{Method} (needs {Permission}): {Decision}, key {KeyId}")]
    private static partial void LogRefused(ILogger logger, string @interface, string method, Permission permission, AccessDecision decision, string keyId);
}
