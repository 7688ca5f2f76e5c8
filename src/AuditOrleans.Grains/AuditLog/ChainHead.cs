namespace AuditOrleans.Grains.AuditLog;

/// <summary>Head of a project-region's hash chain.</summary>
public sealed record ChainHead(long Sequence, string Hash)
{
    public static ChainHead Empty { get; } = new(0, HashChain.Genesis);
}
