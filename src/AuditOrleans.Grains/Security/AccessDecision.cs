using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Security;

/// <summary>Why a call was refused, or that it may proceed.</summary>
public enum AccessDecision
{
    Allowed,
    NoKey,
    InvalidKey,
    MissingPermission,
    OtherProject,
}
