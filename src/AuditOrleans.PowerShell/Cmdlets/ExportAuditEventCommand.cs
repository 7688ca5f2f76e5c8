using System.Management.Automation;
using System.Text;

namespace AuditOrleans.PowerShell.Cmdlets;

/// <summary>
/// Writes the filtered timeline to a file as JSON lines in the provider's snake_case format (one
/// event per line), for reports and for reloading with Send-AuditEvent.
/// </summary>
[Cmdlet(VerbsData.Export, "AuditEvent", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportAuditEventCommand : AuditEventQueryCommand
{
    /// <summary>The file to write (JSON lines).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Do not overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter NoClobber { get; set; }

    /// <summary>Returns the file.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        var path = GetUnresolvedProviderPathFromPSPath(Path);
        if (NoClobber && File.Exists(path))
        {
            ThrowAuditError($"'{path}' already exists and -NoClobber was given.", "FileExists", ErrorCategory.ResourceExists, path,
                "Choose another -Path, or leave out -NoClobber to overwrite it.");
        }

        if (!ShouldProcess(path, "Export audit events"))
        {
            return;
        }

        var count = 0;
        var temporary = path + ".partial";
        try
        {
            using (var writer = new StreamWriter(temporary, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
            {
                writer.NewLine = "\n";
                foreach (var record in Query())
                {
                    writer.WriteLine(AuditEventJson.SerializeRecord(record));
                    count++;
                }
            }

            if (QueryFailed)
            {
                // The error is written; an incomplete export must not replace the file or pass for a whole one.
                return;
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowAuditError($"Could not write '{path}': {ex.Message}", "ExportFailed", ErrorCategory.WriteError, path, "Check the folder exists and is writable.");
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }

        WriteVerbose($"Exported {count} events of project '{ResolveProjectId(ProjectId)}' to {path}.");
        if (PassThru)
        {
            WriteObject(new FileInfo(path));
        }
    }
}
