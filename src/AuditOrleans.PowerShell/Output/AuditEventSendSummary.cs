namespace AuditOrleans.PowerShell;

/// <summary>What Send-AuditEvent -PassThru reports for the whole send.</summary>
public sealed class AuditEventSendSummary
{
    /// <summary>Events read from the pipeline or the parameters.</summary>
    public int Total { get; set; }

    /// <summary>Events stored durably by the cluster.</summary>
    public int Accepted { get; set; }

    /// <summary>Events whose id was already stored (idempotent resend): stored and counted once.</summary>
    public int Duplicates { get; set; }

    /// <summary>Events refused, each reported as an error.</summary>
    public int Rejected { get; set; }

    public string ProjectId { get; set; } = "";
}
