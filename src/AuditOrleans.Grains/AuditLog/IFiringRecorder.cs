using System.Data.Common;

namespace AuditOrleans.Grains.AuditLog;

/// <summary>
/// Records a firing, with one delivery per Security contact, inside the transaction that
/// appends the events that caused it (docs/alerts.md, Firings and deliveries). The audit log
/// owns this port; the notification outbox implements it, so neither store depends on the other.
/// </summary>
public interface IFiringRecorder
{
    /// <summary>Stores <paramref name="alert"/> and its deliveries; returns it with its id and recipients.</summary>
    Task<FiredAlert> InsertFiringAsync(DbConnection connection, DbTransaction transaction, FiredAlert alert, CancellationToken cancellationToken);
}
