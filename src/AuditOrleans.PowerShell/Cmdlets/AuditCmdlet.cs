using System.Management.Automation;
using AuditOrleans.PowerShell.Client;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Base of the module's cmdlets: the session's connection, the default project, blocking on
/// the cluster's tasks on the pipeline thread with Ctrl+C support (a token cancelled in
/// <see cref="StopProcessing"/>), and failures turned into PowerShell errors.
/// </summary>
public abstract class AuditCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource stopping = new();
    private bool disposed;

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline is stopped.</summary>
    protected CancellationToken StopToken => stopping.Token;

    /// <summary>The session's connection; a terminating NotConnected error when there is none.</summary>
    internal AuditConnection Connection
    {
        get
        {
            if (AuditSession.Current is { } connection)
            {
                return connection;
            }

            ThrowTerminatingError(AuditErrors.Create(
                "This session is not connected to an AuditOrleans cluster.",
                AuditErrors.NotConnected,
                ErrorCategory.ConnectionError,
                null,
                "Run Connect-AuditCluster first (for example: Connect-AuditCluster -Gateway 127.0.0.1:30000 -ProjectId my-project)."));
            throw new InvalidOperationException("unreachable");
        }
    }

    /// <summary>The grain factory of the session's connection.</summary>
    internal IGrainFactory Grains => Connection.Grains;

    /// <summary>
    /// The project to work on: <paramref name="projectId"/> when given (checked), else the
    /// project of Connect-AuditCluster (which defaults from $env:AUDITORLEANS_PROJECT_ID, then 'default').
    /// </summary>
    protected string ResolveProjectId(string? projectId)
    {
        if (string.IsNullOrWhiteSpace(projectId))
        {
            return Connection.Settings.ProjectId;
        }

        var id = projectId.Trim();
        if (!Scope.IsValidProjectId(id))
        {
            ThrowTerminatingError(AuditErrors.Create(Scope.DescribeProjectIdRule(id), "InvalidProjectId", ErrorCategory.InvalidArgument, projectId, null));
        }

        return id;
    }

    /// <summary>Waits for <paramref name="task"/> on the pipeline thread; Ctrl+C stops the wait.</summary>
    protected T Await<T>(Task<T> task)
    {
        try
        {
            return task.WaitAsync(StopToken).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <inheritdoc cref="Await{T}(Task{T})"/>
    protected void Await(Task task)
    {
        try
        {
            task.WaitAsync(StopToken).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>
    /// Runs one call to the cluster. A failure becomes a non-terminating error (id
    /// <paramref name="errorId"/>) and the result is false, except when the cluster cannot be
    /// reached: that stops the command, since every later call would fail the same way.
    /// </summary>
    protected bool TryCall<T>(Func<Task<T>> call, string errorId, object? target, out T result)
    {
        try
        {
            result = Await(call());
            return true;
        }
        catch (Exception ex) when (ex is not PipelineStoppedException and not PipelineClosedException)
        {
            var record = ErrorFor(ex, errorId, target);
            if (record.FullyQualifiedErrorId.StartsWith(AuditErrors.ClusterUnreachable, StringComparison.Ordinal))
            {
                ThrowTerminatingError(record);
            }

            WriteError(record);
            result = default!;
            return false;
        }
    }

    /// <summary>
    /// How calls wait for the cluster while a silo restarts or fails over: each attempt gets
    /// <see cref="IngestRetryPolicy.AttemptTimeout"/> (a request written to a gateway as it dies
    /// gets no answer at all), all attempts together the connection's -FailoverTimeoutSec.
    /// </summary>
    internal IngestRetryPolicy RetryPolicy => IngestRetryPolicy.Default with
    {
        AttemptTimeout = TimeSpan.FromSeconds(10),
        Timeout = Connection.Settings.FailoverTimeout,
    };

    /// <summary>
    /// Runs one call that changes nothing (or changes it to the same result when repeated) and
    /// rides out a failover: when the cluster cannot be reached or does not answer, the call is
    /// made again, with a growing delay, until it answers or <see cref="RetryPolicy"/>'s time is
    /// up. The first retry is a warning, the next ones are verbose. Other failures, and
    /// the last one, are handled as by <see cref="TryCall{T}"/>.
    /// </summary>
    protected bool TryRead<T>(Func<Task<T>> call, string errorId, object? target, out T result)
    {
        var policy = RetryPolicy;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var delay = policy.InitialDelay;
        var retried = false;
        for (var attempt = 1; ; attempt++)
        {
            Exception failure;
            try
            {
                result = Await(call().WaitAsync(policy.AttemptTimeout, StopToken));
                if (retried)
                {
                    WriteVerbose($"The cluster answered again at attempt {attempt}.");
                }

                return true;
            }
            catch (Exception ex) when (ex is not PipelineStoppedException and not PipelineClosedException)
            {
                failure = ex;
            }

            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            var cause = AuditErrors.Unwrap(failure);
            if ((IngestRetry.IsTransient(failure) || AuditErrors.IsConnectionFailure(cause)) && elapsed + delay < policy.Timeout)
            {
                var reason = AuditErrors.DescribeConnectionFailure(cause);
                if (!retried)
                {
                    WriteWarning($"The AuditOrleans cluster did not answer: {reason}. A silo may be restarting; trying again for up to {policy.Timeout.TotalSeconds:0} s.");
                    retried = true;
                }
                else
                {
                    WriteVerbose($"Attempt {attempt} failed ({reason}); trying again in {delay.TotalMilliseconds:0} ms.");
                }

                WriteDebug(failure.ToString());
                Await(Task.Delay(delay, StopToken));
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, policy.MaxDelay.Ticks));
                continue;
            }

            WriteDebug(failure.ToString());
            var record = AuditErrors.From(failure, errorId, target, AuditSession.Current, retried ? elapsed : null);
            if (record.FullyQualifiedErrorId.StartsWith(AuditErrors.ClusterUnreachable, StringComparison.Ordinal))
            {
                ThrowTerminatingError(record);
            }

            WriteError(record);
            result = default!;
            return false;
        }
    }

    /// <summary>The error record for a failure, with the original exception on the debug stream.</summary>
    protected ErrorRecord ErrorFor(Exception exception, string errorId, object? target)
    {
        WriteDebug(exception.ToString());
        return AuditErrors.From(exception, errorId, target, AuditSession.Current);
    }

    /// <summary>Writes a non-terminating error of the module's own.</summary>
    protected void WriteAuditError(string message, string errorId, ErrorCategory category, object? target, string? recommendedAction = null) =>
        WriteError(AuditErrors.Create(message, errorId, category, target, recommendedAction));

    /// <summary>Stops the command with an error of the module's own.</summary>
    protected void ThrowAuditError(string message, string errorId, ErrorCategory category, object? target, string? recommendedAction = null) =>
        ThrowTerminatingError(AuditErrors.Create(message, errorId, category, target, recommendedAction));

    protected override void StopProcessing()
    {
        stopping.Cancel();
        base.StopProcessing();
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (!disposed && disposing)
        {
            stopping.Dispose();
        }

        disposed = true;
    }
}
