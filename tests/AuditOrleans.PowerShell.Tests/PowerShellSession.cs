using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace AuditOrleans.PowerShell.Tests;

/// <summary>
/// A runspace of the real PowerShell engine (System.Management.Automation, hosted in-process)
/// with the staged AuditOrleans module imported. Only Microsoft.PowerShell.Core cmdlets exist
/// besides the module's: tests build their input objects in C# or with .NET calls.
/// </summary>
public sealed class PowerShellSession : IDisposable
{
    private readonly Runspace runspace;

    public PowerShellSession(bool import = true)
    {
        var state = InitialSessionState.CreateDefault2();
        runspace = RunspaceFactory.CreateRunspace(state);
        runspace.Open();
        if (import)
        {
            Run("Import-Module -Name $manifest -ErrorAction Stop", ("manifest", ModuleManifest)).ThrowOnError();
        }
    }

    /// <summary>The staged manifest, artifacts/module/AuditOrleans/AuditOrleans.psd1 under the repository root.</summary>
    public static string ModuleManifest { get; } = Path.Combine(RepositoryRoot(), "artifacts", "module", "AuditOrleans", "AuditOrleans.psd1");

    public Runspace Runspace => runspace;

    /// <summary>Runs a script with the given variables set; terminating errors end up in <see cref="PSRun.Errors"/> too.</summary>
    public PSRun Run(string script, params (string Name, object? Value)[] variables)
    {
        foreach (var (name, value) in variables)
        {
            runspace.SessionStateProxy.SetVariable(name, value);
        }

        using var ps = System.Management.Automation.PowerShell.Create(runspace);
        ps.AddScript(script);
        Collection<PSObject> output;
        RuntimeException? terminating = null;
        try
        {
            output = ps.Invoke();
        }
        catch (RuntimeException ex)
        {
            terminating = ex;
            output = [];
        }

        var errors = ps.Streams.Error.ToList();
        if (terminating is not null)
        {
            errors.Add(terminating.ErrorRecord);
        }

        return new PSRun([.. output], errors, [.. ps.Streams.Warning.Select(static w => w.Message)], [.. ps.Streams.Verbose.Select(static v => v.Message)], [.. ps.Streams.Debug.Select(static v => v.Message)], ps.Streams.Progress.Count);
    }

    public void Dispose()
    {
        runspace.Dispose();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AuditOrleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No AuditOrleans.sln above {AppContext.BaseDirectory}.");
    }
}

/// <summary>What a script produced.</summary>
public sealed record PSRun(IReadOnlyList<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, IReadOnlyList<string> Warnings, IReadOnlyList<string> Verbose, IReadOnlyList<string> Debug, int Progress)
{
    public PSRun ThrowOnError()
    {
        if (Errors.Count > 0)
        {
            throw new InvalidOperationException("PowerShell errors:\n" + string.Join("\n", Errors.Select(static e => $"{e.FullyQualifiedErrorId}: {e}")) + "\n" + string.Join("\n", Debug));
        }

        return this;
    }

    /// <summary>A property of every output object (the module's types live in its own load context: read them through PSObject).</summary>
    public IReadOnlyList<object?> Property(string name) => [.. Output.Select(o => o.Properties[name]?.Value)];
}
