using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Session;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// An Orleans system target (by its name after <c>sys.svc.</c>) that clients may call besides the
/// cluster manifest. Registered in code only, never from configuration: the test host's
/// <c>test.hooks</c> for Orleans' TestingHost clusters.
/// </summary>
public sealed record GatewaySystemTargetAllowance(string Name);
