-- AuditOrleans query indexes for PostgreSQL (docs/events.md, Queries; README, Performance).
-- Applied by each silo at start after the earlier scripts, under the same advisory lock;
-- idempotent. DBAs may apply it themselves with:
--   psql -v ON_ERROR_STOP=1 -d auditorleans -f deploy/sql/postgresql/008-query-indexes.sql
--
-- Every index of audit_events now leads with (project_id, region) and ends with
-- (recorded_at, seq): a query without a region reads each region of the project through its
-- own index in the page's order (recorded_at, seq), with no sort, and merges the pages, so that a
-- filter on a principal, a source IP, a method or a status finds its rows with one seek per
-- region. The older (project_id, column, recorded_at) indexes served only queries without a
-- region, and left the page's order to a sort.
-- On an existing database the first start builds the four indexes (a few seconds per million
-- events; the table is locked against writes meanwhile: apply this file by hand with
-- CREATE INDEX CONCURRENTLY first on a busy installation) and drops the four they replace: the
-- number of indexes written per event is unchanged.

BEGIN;

SELECT pg_advisory_xact_lock(280267491668);

CREATE INDEX IF NOT EXISTS ix_audit_events_region_principal ON audit_events (project_id, region, principal_id, status_code, recorded_at, seq);
CREATE INDEX IF NOT EXISTS ix_audit_events_region_source_ip ON audit_events (project_id, region, source_ip, status_code, recorded_at, seq);
CREATE INDEX IF NOT EXISTS ix_audit_events_region_method    ON audit_events (project_id, region, method_name, status_code, recorded_at, seq);
CREATE INDEX IF NOT EXISTS ix_audit_events_region_status    ON audit_events (project_id, region, status_code, recorded_at, seq);

DROP INDEX IF EXISTS ix_audit_events_principal;
DROP INDEX IF EXISTS ix_audit_events_source_ip;
DROP INDEX IF EXISTS ix_audit_events_method;
DROP INDEX IF EXISTS ix_audit_events_status;

INSERT INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-query-indexes', 1, now())
ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at
    WHERE schema_version.version < excluded.version;

COMMIT;
