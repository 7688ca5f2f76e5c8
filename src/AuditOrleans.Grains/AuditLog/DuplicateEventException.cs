using System.Data.Common;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>An event id of a batch was stored concurrently; the batch was not written.</summary>
public sealed class DuplicateEventException(string message, Exception inner) : Exception(message, inner);
