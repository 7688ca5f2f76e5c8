-- AuditOrleans query indexes for SQLite (docs/events.md, Queries; README, Performance).
-- Applied by the silo at start after the earlier scripts; idempotent.
--
-- Every index of audit_events now leads with (project_id, region): a query without a region reads
-- each region of the project through its own index, newest (or oldest) first, and merges the
-- pages, so that a filter on a principal, a source IP or a method finds its rows with one seek
-- per region, with or without a region in the query. The older (project_id, column, recorded_at)
-- indexes served only queries without a region: with one, SQLite preferred the time index and
-- read the whole time range when the value was rare (seconds with a million events).
-- audit_events is WITHOUT ROWID with PRIMARY KEY (project_id, region, seq): each index entry ends
-- with seq, so these indexes hold the page's whole order (recorded_at, seq) within a region.
-- On an existing database the first start builds the three indexes (a few seconds per million
-- events) and drops the three they replace: the number of indexes written per event is unchanged.

CREATE INDEX IF NOT EXISTS ix_audit_events_region_principal ON audit_events (project_id, region, principal_id, status_code, recorded_at);
CREATE INDEX IF NOT EXISTS ix_audit_events_region_source_ip ON audit_events (project_id, region, source_ip, status_code, recorded_at);
CREATE INDEX IF NOT EXISTS ix_audit_events_region_method    ON audit_events (project_id, region, method_name, status_code, recorded_at);

DROP INDEX IF EXISTS ix_audit_events_principal;
DROP INDEX IF EXISTS ix_audit_events_source_ip;
DROP INDEX IF EXISTS ix_audit_events_method;

INSERT OR REPLACE INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-query-indexes', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
