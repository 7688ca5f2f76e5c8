using System.Globalization;

namespace AuditOrleans.Testing;

/// <summary>The nice values of this process's threads, read from <c>/proc/self/task</c> (Linux only).</summary>
public static class ThreadNiceness
{
    /// <summary>The nice value that the silo gives the threads carrying an alert (RaisedThreadPriority), where the system allows it.</summary>
    public const int Raised = -10;

    /// <summary>
    /// The nice values of the threads named <paramref name="name"/>: Linux keeps a thread's first
    /// 15 characters as its name, and field 19 of its stat is the nice value. Threads that end
    /// while they are listed are skipped.
    /// </summary>
    public static IReadOnlyList<int> Of(string name)
    {
        var shown = name.Length > 15 ? name[..15] : name;
        var values = new List<int>();
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd() == shown)
                {
                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    values.Add(int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], CultureInfo.InvariantCulture));
                }
            }
            catch (IOException)
            {
            }
        }

        return values;
    }

    /// <summary>What a raised thread's nice value is here: root has CAP_SYS_NICE (CI and the test machines run as root); another user is refused and runs at 0.</summary>
    public static int ExpectedRaised => Environment.UserName == "root" ? Raised : 0;
}
