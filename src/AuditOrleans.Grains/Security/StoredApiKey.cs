using System.Data.Common;
using AuditOrleans.Grains.Storage;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.Security;

/// <summary>An API key's row: its public description and the hash to check a presented key against.</summary>
public sealed record StoredApiKey(ApiKeyInfo Info, string Salt, string Hash, int Iterations);
