using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using AuditOrleans.Grains;
using AuditOrleans.Tls;
using Xunit;

namespace AuditOrleans.Silo.Tests;

/// <summary>
/// The arrows between our projects that must never exist (docs/architecture.md, "Arrows that
/// must never exist"): the module (AuditOrleans.PowerShell, AuditOrleans.PowerShell.Loader)
/// never references the engine (AuditOrleans.Grains) or the host (AuditOrleans.Silo); the
/// contracts (AuditOrleans.Abstractions) reference nothing of ours; the engine never
/// references the host or the module; the TLS plumbing (AuditOrleans.Tls), which the host and
/// the module both reference, references neither them nor the engine. Checked three ways: the ProjectReference items of every
/// src/*/*.csproj (transitively), the assembly references of the built assemblies
/// (transitively), and the namespaces their types live in.
/// </summary>
/// <remarks>
/// Checked to fail, then reverted: (1) a ProjectReference from AuditOrleans.PowerShell.csproj to
/// AuditOrleans.Grains.csproj, a line in the cmdlet assembly using
/// <c>AuditOrleans.Grains.AuditOrleansOptions</c> and a type in namespace
/// <c>AuditOrleans.Silo.Probe</c> added to the engine made all three tests fail, naming
/// "AuditOrleans.PowerShell -> AuditOrleans.Grains" by project and by assembly, and the Silo
/// namespace inside Grains; (2) a ProjectReference from Abstractions to the loader and a
/// Reference with a HintPath from the loader to AuditOrleans.Silo.dll made the project test
/// report every path they open, e.g. "AuditOrleans.PowerShell -> AuditOrleans.PowerShell.Loader
/// -> AuditOrleans.Silo". The module's assemblies are not loaded into the test (they belong in
/// the module's own load context): they are read as metadata from their build output, which the
/// build-only ProjectReference in this project's csproj makes sure exists.
/// </remarks>
public sealed class ArchitectureTests
{
    private const string Contracts = "AuditOrleans.Abstractions";
    private const string Engine = "AuditOrleans.Grains";
    private const string Host = "AuditOrleans.Silo";
    private const string Module = "AuditOrleans.PowerShell";
    private const string ModuleLoader = "AuditOrleans.PowerShell.Loader";
    private const string Tls = "AuditOrleans.Tls";

    /// <summary>Every arrow that must never exist, directly or through other projects of ours.</summary>
    private static readonly (string From, string To)[] NeverArrows =
    [
        (Module, Engine), (Module, Host),
        (ModuleLoader, Engine), (ModuleLoader, Host),
        (Engine, Host), (Engine, Module), (Engine, ModuleLoader),
        (Tls, Engine), (Tls, Host), (Tls, Module), (Tls, ModuleLoader),
    ];

    private static readonly Lazy<string> RepositoryRoot = new(FindRepositoryRoot);
    private static readonly Lazy<IReadOnlyDictionary<string, Project>> Projects = new(ReadProjects);

    [Fact]
    public void ProjectReferencesHoldNoNeverArrow()
    {
        var projects = Projects.Value;
        var edges = projects.Values.ToDictionary(static p => p.Name, static p => (IReadOnlyCollection<string>)p.References, StringComparer.Ordinal);

        // The graph was read: the arrows that must exist are there.
        Assert.NotNull(PathBetween(edges, Engine, Contracts));
        Assert.NotNull(PathBetween(edges, Host, Engine));
        Assert.NotNull(PathBetween(edges, Module, Contracts));
        Assert.NotNull(PathBetween(edges, Host, Tls));
        Assert.NotNull(PathBetween(edges, Module, Tls));

        var found = new List<string>();
        foreach (var (from, to) in NeverArrows)
        {
            if (PathBetween(edges, from, to) is { } path)
            {
                found.Add($"{string.Join(" -> ", path)} (project references)");
            }
        }

        // Contracts reference nothing of ours, whatever new project appears.
        found.AddRange(projects[Contracts].References.Select(static r => $"{Contracts} -> {r} (project references)"));
        Assert.True(found.Count == 0, "Never-arrows found (docs/architecture.md):" + Environment.NewLine + string.Join(Environment.NewLine, found));
    }

    [Fact]
    public void BuiltAssembliesReferenceNoForbiddenAssembly()
    {
        var built = BuiltAssemblies();
        var ours = built.Keys.ToHashSet(StringComparer.Ordinal);
        var edges = built.Values.ToDictionary(
            static b => b.Name,
            b => (IReadOnlyCollection<string>)[.. b.References.Where(ours.Contains)],
            StringComparer.Ordinal);

        Assert.Contains(Contracts, edges[Engine]);
        Assert.Contains(Contracts, edges[Module]);
        Assert.Contains(Tls, edges[Host]);
        Assert.Contains(Tls, edges[Module]);

        var found = new List<string>();
        foreach (var (from, to) in NeverArrows)
        {
            if (PathBetween(edges, from, to) is { } path)
            {
                found.Add($"{string.Join(" -> ", path)} (assembly references)");
            }
        }

        found.AddRange(edges[Contracts].Select(static r => $"{Contracts} -> {r} (assembly references)"));
        Assert.True(found.Count == 0, "Never-arrows found (docs/architecture.md):" + Environment.NewLine + string.Join(Environment.NewLine, found));
    }

    [Fact]
    public void TypesLiveInTheirOwnProjectsNamespace()
    {
        var projects = Projects.Value;
        var misplaced = new List<string>();
        foreach (var assembly in BuiltAssemblies().Values)
        {
            var own = projects.Values.Single(p => p.AssemblyName == assembly.Name);
            Assert.True(assembly.Namespaces.Any(n => OwnerOf(n, projects.Values) == own), $"{assembly.Name} has no type in its root namespace {own.RootNamespace}: the test reads the wrong assembly.");
            foreach (var ns in assembly.Namespaces.Where(static n => n == "AuditOrleans" || n.StartsWith("AuditOrleans.", StringComparison.Ordinal)))
            {
                var owner = OwnerOf(ns, projects.Values);
                if (owner is not null && owner != own)
                {
                    misplaced.Add($"{assembly.Name} defines types in namespace {ns}, which belongs to {owner.Name} (root namespace {owner.RootNamespace})");
                }
            }
        }

        Assert.True(misplaced.Count == 0, "Types outside their project's namespace:" + Environment.NewLine + string.Join(Environment.NewLine, misplaced));
    }

    /// <summary>The project whose root namespace is the longest prefix of <paramref name="ns"/>.</summary>
    private static Project? OwnerOf(string ns, IEnumerable<Project> projects) =>
        projects
            .Where(p => ns == p.RootNamespace || ns.StartsWith(p.RootNamespace + ".", StringComparison.Ordinal))
            .MaxBy(static p => p.RootNamespace.Length);

    /// <summary>A path of arrows from one node to another (breadth first), or null when there is none.</summary>
    private static List<string>? PathBetween(IReadOnlyDictionary<string, IReadOnlyCollection<string>> edges, string from, string to)
    {
        var previous = new Dictionary<string, string>(StringComparer.Ordinal) { [from] = "" };
        var queue = new Queue<string>([from]);
        while (queue.TryDequeue(out var node))
        {
            foreach (var next in edges.TryGetValue(node, out var targets) ? targets : [])
            {
                if (!previous.TryAdd(next, node))
                {
                    continue;
                }

                if (next == to)
                {
                    var path = new List<string> { to };
                    for (var at = node; at.Length > 0; at = previous[at])
                    {
                        path.Insert(0, at);
                    }

                    return path;
                }

                queue.Enqueue(next);
            }
        }

        return null;
    }

    /// <summary>
    /// The projects under src/: name, assembly name, root namespace and the projects of ours they
    /// reference (ProjectReference items, and Reference items that point at one of our assemblies),
    /// including what a Directory.Build.props/targets above them adds.
    /// </summary>
    private static IReadOnlyDictionary<string, Project> ReadProjects()
    {
        var root = RepositoryRoot.Value;
        var files = Directory.GetFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Where(static f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(Path.GetFullPath)
            .ToList();
        var nameOfFile = files.ToDictionary(static f => f, static f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal);
        var documents = files.ToDictionary(static f => f, static f => XDocument.Load(f), StringComparer.Ordinal);
        string Property(XDocument d, string name) =>
            d.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value.Trim() ?? "";
        var assemblyOfFile = files.ToDictionary(
            static f => f,
            f => Property(documents[f], "AssemblyName") is { Length: > 0 } a ? a : nameOfFile[f],
            StringComparer.Ordinal);
        var projectOfAssembly = assemblyOfFile.ToDictionary(static p => p.Value, p => nameOfFile[p.Key], StringComparer.OrdinalIgnoreCase);

        var projects = new Dictionary<string, Project>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var references = new HashSet<string>(StringComparer.Ordinal);
            foreach (var source in ImportedBuildFiles(file, root).Prepend(file))
            {
                var document = source == file ? documents[file] : XDocument.Load(source);
                foreach (var item in document.Descendants().Where(static e => e.Name.LocalName is "ProjectReference" or "Reference"))
                {
                    if (ReferencedProject(item, source, nameOfFile, projectOfAssembly) is { } target && target != nameOfFile[file])
                    {
                        references.Add(target);
                    }
                }
            }

            var name = nameOfFile[file];
            var rootNamespace = Property(documents[file], "RootNamespace") is { Length: > 0 } r ? r : name;
            projects[name] = new Project(name, assemblyOfFile[file], rootNamespace, references);
        }

        foreach (var expected in new[] { Contracts, Engine, Host, Module, ModuleLoader, Tls })
        {
            Assert.True(projects.ContainsKey(expected), $"src/{expected}/{expected}.csproj was not found: update the architecture test and docs/architecture.md with the new project names.");
        }

        return projects;
    }

    /// <summary>Directory.Build.props/targets between a project's folder and the repository root: MSBuild may import them into it.</summary>
    private static IEnumerable<string> ImportedBuildFiles(string projectFile, string root)
    {
        for (var directory = Path.GetDirectoryName(projectFile); directory is not null && directory.StartsWith(root, StringComparison.Ordinal); directory = Path.GetDirectoryName(directory))
        {
            foreach (var name in new[] { "Directory.Build.props", "Directory.Build.targets" })
            {
                var candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    yield return candidate;
                }
            }
        }
    }

    /// <summary>The project of ours a ProjectReference or Reference item points at, or null.</summary>
    private static string? ReferencedProject(XElement item, string declaringFile, IReadOnlyDictionary<string, string> nameOfFile, IReadOnlyDictionary<string, string> projectOfAssembly)
    {
        var include = item.Attribute("Include")?.Value.Trim() ?? "";
        if (item.Name.LocalName == "ProjectReference")
        {
            var path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(declaringFile)!, include.Replace('\\', Path.DirectorySeparatorChar)));
            return nameOfFile.TryGetValue(path, out var project) ? project : projectOfAssembly.GetValueOrDefault(Path.GetFileNameWithoutExtension(path));
        }

        // <Reference Include="AuditOrleans.Grains, Version=..."> or a HintPath to one of our dlls.
        var hint = item.Elements().FirstOrDefault(static e => e.Name.LocalName == "HintPath")?.Value ?? item.Attribute("HintPath")?.Value;
        foreach (var candidate in new[] { include.Split(',')[0].Trim(), Path.GetFileNameWithoutExtension(include.Replace('\\', '/')), Path.GetFileNameWithoutExtension(hint?.Replace('\\', '/') ?? "") })
        {
            if (candidate.Length > 0 && projectOfAssembly.TryGetValue(candidate, out var project))
            {
                return project;
            }
        }

        return null;
    }

    /// <summary>
    /// The built assemblies of our projects: the ones this test references through reflection,
    /// the module's (not referenced here) as metadata from their build output.
    /// </summary>
    private static IReadOnlyDictionary<string, BuiltAssembly> BuiltAssemblies()
    {
        var loaded = new[]
        {
            typeof(AuditEvent).Assembly, // AuditOrleans.Abstractions
            typeof(AuditOrleansOptions).Assembly, // AuditOrleans.Grains
            typeof(SiloConfiguration).Assembly, // AuditOrleans.Silo
            typeof(TlsCertificates).Assembly, // AuditOrleans.Tls
        };
        var built = loaded.Select(FromReflection).ToDictionary(static b => b.Name, StringComparer.Ordinal);
        foreach (var project in new[] { Module, ModuleLoader })
        {
            var b = FromMetadata(BuildOutput(Projects.Value[project]));
            built[b.Name] = b;
        }

        foreach (var project in Projects.Value.Values)
        {
            Assert.True(built.ContainsKey(project.AssemblyName),
                $"The architecture test does not look at {project.AssemblyName}: add it to {nameof(BuiltAssemblies)} (a typeof(...) of one of its types, or its build output).");
        }

        return built;
    }

    private static BuiltAssembly FromReflection(Assembly assembly)
    {
        Type?[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            types = ex.Types;
        }

        return new BuiltAssembly(
            assembly.GetName().Name!,
            [.. assembly.GetReferencedAssemblies().Select(static a => a.Name!)],
            [.. types.OfType<Type>().Select(static t => t.Namespace).OfType<string>().Distinct(StringComparer.Ordinal)]);
    }

    private static BuiltAssembly FromMetadata(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        return new BuiltAssembly(
            reader.GetString(reader.GetAssemblyDefinition().Name),
            [.. reader.AssemblyReferences.Select(h => reader.GetString(reader.GetAssemblyReference(h).Name))],
            [.. reader.TypeDefinitions.Select(h => reader.GetString(reader.GetTypeDefinition(h).Namespace)).Where(static n => n.Length > 0).Distinct(StringComparer.Ordinal)]);
    }

    /// <summary>A project's dll in its bin folder, for the configuration and target framework this test was built with.</summary>
    private static string BuildOutput(Project project)
    {
        var configuration = typeof(ArchitectureTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var targetFramework = Path.GetFileName(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        var path = Path.Combine(RepositoryRoot.Value, "src", project.Name, "bin", configuration, targetFramework, project.AssemblyName + ".dll");
        Assert.True(File.Exists(path), $"{path} is missing: build {project.Name} ({configuration}) before this test; the csproj of this test project has a build-only reference to it for that.");
        return path;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AuditOrleans.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No AuditOrleans.sln above {AppContext.BaseDirectory}: the architecture test runs from the repository's build output.");
    }

    private sealed record Project(string Name, string AssemblyName, string RootNamespace, IReadOnlySet<string> References);

    private sealed record BuiltAssembly(string Name, IReadOnlyList<string> References, IReadOnlyList<string> Namespaces);
}
