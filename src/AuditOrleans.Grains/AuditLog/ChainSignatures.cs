using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>The exact texts that checkpoint and retention-anchor signatures cover.</summary>
public static class ChainSignatures
{
    /// <summary>The text a checkpoint signature covers.</summary>
    public static string CheckpointText(string projectId, string region, long sequence, string hash, long createdAtMicros) =>
        string.Create(CultureInfo.InvariantCulture, $"{projectId}\n{region}\n{sequence}\n{hash}\n{createdAtMicros}");

    /// <summary>The text a retention anchor's signature covers: the chain, the cut, when and under which retention it was made.</summary>
    public static string AnchorText(string projectId, string region, long sequence, string hash, long purgedAtMicros, int retentionDays, long provenAtMicros) =>
        string.Create(CultureInfo.InvariantCulture, $"anchor-v1\n{projectId}\n{region}\n{sequence}\n{hash}\n{purgedAtMicros}\n{retentionDays}\n{provenAtMicros}");
}
