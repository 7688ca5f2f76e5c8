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
