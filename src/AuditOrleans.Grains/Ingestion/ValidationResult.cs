using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace AuditOrleans.Grains.Ingestion;

/// <summary>A normalised event, or the reason it was rejected.</summary>
public readonly record struct ValidationResult
{
    public ValidationResult(AuditEvent valid) => Event = valid;

    public ValidationResult(EventError error) => Error = error;

    public AuditEvent? Event { get; }

    public EventError? Error { get; }

    public static implicit operator ValidationResult(EventError error) => new(error);
}
