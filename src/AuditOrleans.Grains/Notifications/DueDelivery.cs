using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.Notifications;

/// <summary>A delivery that is due: one firing to one recipient.</summary>
public sealed record DueDelivery(FiredAlert Alert, string Recipient, string MessageId, int Attempts);
