-- AuditOrleans web console for PostgreSQL: the data-protection key ring that encrypts the
-- console's session cookies, shared by every silo of the cluster so that a session opened on
-- one silo is valid on all of them. Applied by each silo at start after 002-security.sql, under
-- the same advisory lock. DBAs may apply it themselves with:
--   psql -v ON_ERROR_STOP=1 -d auditorleans -f deploy/sql/postgresql/003-console.sql
-- name: the key's file-style name (key-<guid>); xml: the key element as data protection writes
-- it; created_at: microseconds since 1970-01-01 UTC. Rows are only ever added.

BEGIN;

SELECT pg_advisory_xact_lock(280267491668);

CREATE TABLE IF NOT EXISTS console_keys (
    name       text   NOT NULL PRIMARY KEY,
    xml        text   NOT NULL,
    created_at bigint NOT NULL
);

INSERT INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-console', 1, now())
ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at
    WHERE schema_version.version < excluded.version;

COMMIT;
