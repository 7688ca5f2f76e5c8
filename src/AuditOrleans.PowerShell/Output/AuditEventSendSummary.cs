namespace AuditOrleans.PowerShell;

/// <summary>What Send-AuditEvent -PassThru reports for the whole send.</summary>
public sealed class AuditEventSendSummary
{
    private readonly List<string> projectIds = [];
    private readonly HashSet<string> seen = new(StringComparer.Ordinal);

    /// <summary>Events read from the pipeline or the parameters.</summary>
    public int Total { get; set; }

    /// <summary>Events stored durably by the cluster.</summary>
    public int Accepted { get; set; }

    /// <summary>Events whose id was already stored (idempotent resend): stored and counted once.</summary>
    public int Duplicates { get; set; }

    /// <summary>Events refused, each reported as an error.</summary>
    public int Rejected { get; set; }

    /// <summary>Every project the stored (accepted or duplicate) events belong to, in the order first seen.</summary>
    public string[] ProjectIds => [.. projectIds];

    /// <summary>The projects in a few words: the ids of up to three, else their number ("5 projects").</summary>
    public string Projects => projectIds.Count switch
    {
        0 => "",
        <= 3 => string.Join(", ", projectIds),
        _ => $"{projectIds.Count} projects",
    };

    /// <summary>The session's project: the project of events that name none.</summary>
    public string ProjectId { get; set; } = "";

    internal void AddProject(string projectId)
    {
        if (seen.Add(projectId))
        {
            projectIds.Add(projectId);
        }
    }
}
