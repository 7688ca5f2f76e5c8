using System.Reflection;
using System.Runtime.Loader;

namespace AuditOrleans.PowerShell.Loader;

/// <summary>
/// Entry point of the module (called by AuditOrleans.psm1): loads the cmdlet assembly and
/// everything it depends on (Orleans, Microsoft.Extensions.*, the grain interfaces) from the
/// module's <c>bin</c> folder into one AssemblyLoadContext of their own, so that the versions
/// other modules or the host load into the default context cannot clash with ours.
/// </summary>
public static class ModuleLoader
{
    /// <summary>The folder under the module base that holds the cmdlets and their dependencies.</summary>
    public const string LibraryFolder = "bin";

    /// <summary>File name of the cmdlet assembly in <see cref="LibraryFolder"/>.</summary>
    public const string CmdletAssemblyName = "AuditOrleans.PowerShell";

    private static readonly Lock Gate = new();
    private static ModuleLoadContext? context;

    /// <summary>The load context of the module, once <see cref="LoadCmdlets"/> has run.</summary>
    public static AssemblyLoadContext? Context => context;

    /// <summary>
    /// Loads the cmdlet assembly into the module's load context (created on first use; a second
    /// import in the same process reuses it) and returns it for <c>Import-Module -Assembly</c>.
    /// </summary>
    /// <param name="moduleBase">The folder of the module manifest ($PSScriptRoot).</param>
    public static Assembly LoadCmdlets(string moduleBase)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(moduleBase);
        var directory = Path.GetFullPath(Path.Combine(moduleBase, LibraryFolder));
        var path = Path.Combine(directory, CmdletAssemblyName + ".dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"The AuditOrleans module is incomplete: '{path}' is missing. Rebuild it (dotnet build AuditOrleans.sln, or ./build.ps1) or reinstall it.", path);
        }

        lock (Gate)
        {
            if (context is null)
            {
                context = new ModuleLoadContext(directory);
            }
            else if (!string.Equals(context.Directory, directory, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"Another copy of the AuditOrleans module is already loaded in this process from '{context.Directory}'. Start a new session to use the one in '{directory}'.");
            }

            return context.LoadFromAssemblyName(new AssemblyName(CmdletAssemblyName));
        }
    }
}

/// <summary>
/// Resolves every assembly found in the module's library folder inside this context; anything
/// else (the framework, System.Management.Automation) comes from the host.
/// </summary>
internal sealed class ModuleLoadContext(string directory) : AssemblyLoadContext("AuditOrleans", isCollectible: false)
{
    /// <summary>Assemblies that must be the host's own: the cmdlets bind to the engine that runs them.</summary>
    private static readonly HashSet<string> HostAssemblies = new(StringComparer.OrdinalIgnoreCase)
    {
        "System.Management.Automation",
        "Microsoft.PowerShell.Commands.Utility",
        "Microsoft.PowerShell.ConsoleHost",
        "netstandard",
        "mscorlib",
    };

    public string Directory { get; } = directory;

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (assemblyName.Name is not { Length: > 0 } name || HostAssemblies.Contains(name))
        {
            return null;
        }

        var path = Path.Combine(Directory, name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
