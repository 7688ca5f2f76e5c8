using System.Buffers.Text;
using System.Security.Cryptography;
using AuditOrleans.Grains;
using AuditOrleans.Grains.Security;
using AuditOrleans.Grains.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>How a request to the console or to <c>/metrics</c> identified itself.</summary>
public sealed record AuthOutcome(ConsoleUser? User, bool ViaBearer, string? Problem)
{
    public static AuthOutcome Anonymous { get; } = new(null, false, null);
}
