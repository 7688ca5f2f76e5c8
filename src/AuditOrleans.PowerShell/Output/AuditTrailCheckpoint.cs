using System.Globalization;
using System.Management.Automation;
using AuditOrleans.PowerShell.Internal;

namespace AuditOrleans.PowerShell;

/// <summary>
/// A signed chain head of a project-region's log (Get-AuditTrailCheckpoint). Keep these outside
/// the silo's database (Export-Csv, ConvertTo-Json): Test-AuditTrailIntegrity -Checkpoint then
/// proves the stored log still contains exactly what it held when the checkpoint was made.
/// </summary>
public sealed class AuditTrailCheckpoint
{
    public required string ProjectId { get; init; }

    public required string Region { get; init; }

    /// <summary>Sequence of the last event the checkpoint covers.</summary>
    public required long Sequence { get; init; }

    /// <summary>The chain hash at <see cref="Sequence"/>.</summary>
    public required string Hash { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The silo's HMAC of the checkpoint.</summary>
    public required string Signature { get; init; }

    internal static AuditTrailCheckpoint From(ChainCheckpoint c) => new()
    {
        ProjectId = c.ProjectId,
        Region = c.Region,
        Sequence = c.Sequence,
        Hash = c.Hash,
        CreatedAt = c.CreatedAt,
        Signature = c.Signature,
    };

    /// <summary>
    /// Reads a checkpoint back from what the user kept: this type, or any object with the same
    /// property names (Import-Csv rows, ConvertFrom-Json objects), or a line of the silo's
    /// data/checkpoints.jsonl through ConvertFrom-Json (project_id, seq, created_at).
    /// </summary>
    /// <exception cref="FormatException">A property is missing or unreadable; the message names it.</exception>
    internal static ChainCheckpoint Read(object input)
    {
        var o = PSObject.AsPSObject(input);

        object? Value(string name, string fileName) => o.Properties[name]?.Value ?? o.Properties[fileName]?.Value;

        string Required(string name, string? fileName = null) =>
            PSValues.Text(Value(name, fileName ?? name)) is { Length: > 0 } text
                ? text.Trim()
                : throw new FormatException($"The checkpoint has no {name}: pass objects from Get-AuditTrailCheckpoint (or Import-Csv/ConvertFrom-Json of them), or lines of the silo's data/checkpoints.jsonl.");

        var sequenceText = Required(nameof(Sequence), "seq");
        if (!long.TryParse(sequenceText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var sequence) || sequence < 1)
        {
            throw new FormatException($"The checkpoint's Sequence '{Scope.Printable(sequenceText)}' is not a positive whole number.");
        }

        return new ChainCheckpoint(
            Required(nameof(ProjectId), "project_id"),
            Names.NormalizeRegion(Required(nameof(Region))),
            sequence,
            Required(nameof(Hash)),
            PSValues.Time(Value(nameof(CreatedAt), "created_at"), nameof(CreatedAt)) ?? DateTimeOffset.MinValue,
            Required(nameof(Signature)));
    }
}
