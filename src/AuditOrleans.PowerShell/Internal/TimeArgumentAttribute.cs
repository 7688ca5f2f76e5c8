using System.Management.Automation;

namespace AuditOrleans.PowerShell.Internal;

/// <summary>
/// Lets a [datetime] parameter take a [DateTimeOffset] too (the type of RecordedAt and
/// TriggeredAt in this module's output, and of [DateTimeOffset]::UtcNow), as the same instant in
/// UTC. PowerShell does not convert DateTimeOffset to DateTime by itself. Text and [datetime]
/// values pass through to PowerShell's usual conversion.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class TimeArgumentAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData) =>
        PSValues.Unwrap(inputData) is DateTimeOffset instant ? instant.UtcDateTime : inputData;
}
