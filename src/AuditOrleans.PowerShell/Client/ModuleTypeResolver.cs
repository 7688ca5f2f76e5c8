using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Loader;
using Orleans.Serialization.TypeSystem;

namespace AuditOrleans.PowerShell.Client;

/// <summary>
/// Resolves the type names that arrive on the wire in the module's own AssemblyLoadContext.
/// Orleans' default resolver takes the first loaded assembly with the right name in the whole
/// process, which is another context's copy when the host or another module also loaded
/// AuditOrleans.Abstractions or Orleans (and then casts fail: "HashSet`1[AlertName] to
/// IReadOnlySet`1[AlertName]"). Names this context cannot resolve go to Orleans' resolver.
/// </summary>
internal sealed class ModuleTypeResolver(AssemblyLoadContext context) : TypeResolver
{
    private readonly ConcurrentDictionary<string, Type> cache = new(StringComparer.Ordinal);
    private readonly CachedTypeResolver fallback = new();

    /// <summary>The context the module's assemblies were loaded into (the default one when loaded without the loader).</summary>
    public static AssemblyLoadContext ModuleContext =>
        AssemblyLoadContext.GetLoadContext(typeof(ModuleTypeResolver).Assembly) ?? AssemblyLoadContext.Default;

    public override Type ResolveType(string name) =>
        TryResolveType(name, out var type) ? type : throw new TypeAccessException($"Unable to find a type named {name}");

    public override bool TryResolveType(string name, out Type type)
    {
        if (cache.TryGetValue(name, out var cached))
        {
            type = cached;
            return true;
        }

        var resolved = Type.GetType(name, LoadAssembly, FindType, throwOnError: false);
        if (resolved is null && !fallback.TryResolveType(name, out resolved))
        {
            type = null!;
            return false;
        }

        type = cache.GetOrAdd(name, resolved);
        return true;
    }

    private Assembly? LoadAssembly(AssemblyName name)
    {
        try
        {
            return context.LoadFromAssemblyName(name);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private Type? FindType(Assembly? assembly, string name, bool ignoreCase)
    {
        if (assembly is not null)
        {
            return assembly.GetType(name, throwOnError: false, ignoreCase);
        }

        foreach (var candidate in context.Assemblies)
        {
            if (candidate.GetType(name, throwOnError: false, ignoreCase) is { } type)
            {
                return type;
            }
        }

        return Type.GetType(name, throwOnError: false, ignoreCase);
    }
}
