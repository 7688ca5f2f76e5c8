using System.Runtime.InteropServices;

namespace AuditOrleans.Grains.Storage;

/// <summary>
/// Runs the SQLite writer thread ahead of the thread pool's workers (docs/architecture.md,
/// Persistence: The writer thread). Every write of the silo goes through that one thread, the
/// alert's among them; at equal priority the operating system gives it the same share of the
/// cores as each worker that is busy with bulk ingestion, so under load its groups (and the
/// alert waiting in one) took several times their own length. Linux: the thread's nice value
/// becomes <see cref="Nice"/>, which needs CAP_SYS_NICE (root has it; a container may drop it).
/// Where that is refused the thread runs at normal priority, as before: slower under load,
/// never wrong.
/// </summary>
internal static partial class WriterThreadPriority
{
    /// <summary>The writer's nice value on Linux (normal is 0; lower runs first).</summary>
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
