using System.Runtime.InteropServices;

namespace AuditOrleans.Grains.Storage;

/// <summary>
/// Runs the threads that carry an alert ahead of the thread pool's workers: the SQLite writer
/// thread (docs/architecture.md, Persistence: The writer thread) with its WAL checkpointer, whose
/// restarts of the log the writer waits for, and an SMTP session's thread
/// (docs/architecture.md, The path of one event: MailSender). At equal priority the operating
/// system gives such a thread the same share of the cores as each worker that is busy with bulk
/// ingestion, so under load the alert's step took several times its own length. Linux: the
/// thread's nice value becomes <see cref="Nice"/>, which needs CAP_SYS_NICE (root has it; a
/// container may drop it). Where that is refused the thread runs at normal priority: slower
/// under load, never wrong.
/// </summary>
internal static partial class RaisedThreadPriority
{
    /// <summary>The raised nice value on Linux (normal is 0; lower runs first).</summary>
    public const int Nice = -10;

    private const int PriorityProcess = 0;

    /// <summary>Raises the calling thread's priority; false when the operating system refused.</summary>
    public static bool TryRaise()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                // PRIO_PROCESS with a thread id sets that one thread's nice value on Linux.
                return SetPriority(PriorityProcess, GetThreadId(), Nice) == 0;
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                return false;
            }
        }

        try
        {
            Thread.CurrentThread.Priority = ThreadPriority.AboveNormal;
            return true;
        }
        catch (Exception ex) when (ex is ThreadStateException or PlatformNotSupportedException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static extern int SetPriority(int which, int who, int priority);

    [DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetThreadId();
}
