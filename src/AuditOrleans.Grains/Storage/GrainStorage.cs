using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Storage;

/// <summary>Names shared by the silo's wiring and the grains.</summary>
public static class GrainStorage
{
    /// <summary>The ADO.NET grain storage provider holding grain state.</summary>
    public const string Name = "auditStore";
}
