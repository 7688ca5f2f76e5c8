using System.Management.Automation;
using System.Net.Sockets;
using AuditOrleans.PowerShell.Client;
using Orleans.Runtime.Messaging;

namespace AuditOrleans.PowerShell.Internal;

/// <summary>
/// Turns failures into PowerShell errors: a stable error id, the right category and a message
/// that says what to do. Exceptions from the cluster are never shown with their stack trace
/// (the original goes to the debug stream only).
/// </summary>
internal static class AuditErrors
{
    /// <summary>Error id of every failure to reach the cluster.</summary>
    public const string ClusterUnreachable = "ClusterUnreachable";

    /// <summary>Error id of a call the cluster refused for lack of permission.</summary>
    public const string AccessDenied = "AccessDenied";

    /// <summary>Error id of a batch refused because the key's ingest rate limit is used up.</summary>
    public const string RateLimitExceeded = "RateLimitExceeded";

    /// <summary>Error id when no Connect-AuditCluster ran in the session.</summary>
    public const string NotConnected = "NotConnected";

    /// <summary>A custom rule's query was refused: the message gives the line, column and reason.</summary>
    public const string InvalidRuleQuery = "InvalidRuleQuery";

    /// <summary>
    /// Builds the error record for <paramref name="exception"/> raised while doing
    /// <paramref name="errorId"/>'s work; <paramref name="retriedFor"/> is how long the call was
    /// tried before giving up, when it was retried.
    /// </summary>
    public static ErrorRecord From(Exception exception, string errorId, object? target, AuditConnection? connection, TimeSpan? retriedFor = null)
    {
        var e = Unwrap(exception);
        if (IsConnectionFailure(e))
        {
            var where = connection is null ? "the AuditOrleans cluster" : $"the AuditOrleans cluster at {connection.GatewayList}";
            var during = retriedFor is { } time ? $" in {Math.Max(1, (int)Math.Round(time.TotalSeconds))} s of trying" : "";
            // The session's client reconnects by itself once a gateway answers again: a new
            // Connect-AuditCluster only helps when the silos are elsewhere now.
            return Create(
                $"Could not reach {where}{during}: {DescribeConnectionFailure(e)}.",
                ClusterUnreachable,
                ErrorCategory.ConnectionError,
                target,
                "Check that a silo is running and reachable; the session reconnects by itself once one answers, so run the command again then. If the silos now listen elsewhere, run Connect-AuditCluster -Gateway host:port.");
        }

        return e switch
        {
            UnauthorizedAccessException => Create(e.Message, AccessDenied, ErrorCategory.PermissionDenied, target,
                "Use an API key whose role grants this permission (Connect-AuditCluster -ApiKey)."),
            RateLimitExceededException limit => Create(Describe(e), RateLimitExceeded, ErrorCategory.LimitsExceeded, target,
                limit.RetryAfter > TimeSpan.Zero
                    ? $"Wait {Math.Max(1, (int)Math.Ceiling(limit.RetryAfter.TotalSeconds))} s and send the events again, or send them more slowly."
                    : "Send smaller batches (Send-AuditEvent -BatchSize)."),
            BatchRejectedException => Create(Describe(e), errorId, ErrorCategory.LimitsExceeded, target, null),
            RuleQueryException => Create(Describe(e), InvalidRuleQuery, ErrorCategory.InvalidArgument, target,
                "Correct the query at the line and column given (docs/rules.md lists the fields of event and the functions); Test-AuditAlertRule tries a query without creating a rule."),
            KeyNotFoundException => Create(Describe(e), errorId, ErrorCategory.ObjectNotFound, target, null),
            ArgumentException => Create(Describe(e), errorId, ErrorCategory.InvalidArgument, target, null),
            FormatException => Create(Describe(e), errorId, ErrorCategory.InvalidData, target, null),
            InvalidOperationException => Create(Describe(e), errorId, ErrorCategory.InvalidOperation, target, null),
            NotImplementedException or NotSupportedException => Create(
                $"The AuditOrleans cluster does not support this operation: {Describe(e)}", errorId, ErrorCategory.NotImplemented, target,
                "Upgrade the silos to the version of this module."),
            _ => Create($"The AuditOrleans cluster reported an error: {Describe(e)}", errorId, ErrorCategory.NotSpecified, target, null),
        };
    }

    /// <summary>An error record with a message of ours (no exception from elsewhere inside).</summary>
    public static ErrorRecord Create(string message, string errorId, ErrorCategory category, object? target, string? recommendedAction)
    {
        var record = new ErrorRecord(new AuditOrleansException(message), errorId, category, target);
        if (recommendedAction is not null)
        {
            record.ErrorDetails = new ErrorDetails(message) { RecommendedAction = recommendedAction };
        }

        return record;
    }

    /// <summary>
    /// What went wrong with the connection, in the user's terms: no Orleans message dumps, silo
    /// addresses or internal retry delays (those go to the debug stream).
    /// </summary>
    public static string DescribeConnectionFailure(Exception e) => e switch
    {
        TimeoutException => "no answer in time",
        SiloUnavailableException => "the silo handling the call went away",
        OrleansMessageRejectionException => "the call was turned away while a silo was stopping or starting",
        GatewayTooBusyException => "the gateway is too busy",
        ConnectionFailedException or SocketException => "no silo accepted the connection at the gateway",
        _ when e.GetType().Name is "ConnectionAbortedException" or "ConnectionResetException" => "the connection to the gateway was lost",
        _ when e.InnerException is { } inner => DescribeConnectionFailure(inner),
        _ => "the connection failed",
    };

    public static bool IsConnectionFailure(Exception e) =>
        e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or SocketException or ConnectionFailedException
            or GatewayTooBusyException
        || e.GetType().Name is "ConnectionFailedException" or "ConnectionAbortedException" or "ConnectionResetException";

    /// <summary>The exception that says what went wrong: aggregate and invocation wrappers removed.</summary>
    public static Exception Unwrap(Exception exception)
    {
        var e = exception;
        while (e is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && e.InnerException is not null)
        {
            e = e.InnerException!;
        }

        return e;
    }

    /// <summary>The first line of the message: Orleans appends remote stack traces to some messages.</summary>
    private static string Describe(Exception e)
    {
        var message = e.Message;
        var end = message.IndexOf("\n   at ", StringComparison.Ordinal);
        if (end > 0)
        {
            message = message[..end];
        }

        return message.Trim();
    }
}

/// <summary>The exception inside the module's error records: a message and nothing else.</summary>
public sealed class AuditOrleansException : Exception
{
    public AuditOrleansException()
    {
    }

    public AuditOrleansException(string message)
        : base(message)
    {
    }

    public AuditOrleansException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
