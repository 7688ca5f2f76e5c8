-- AuditOrleans web console for PostgreSQL: the console's sessions, so that signing out ends a
-- session on every silo of the cluster (the session cookie alone would stay valid until it
-- expires). Applied by each silo at start after 003-console.sql, under the same advisory lock.
-- DBAs may apply it themselves with:
--   psql -v ON_ERROR_STOP=1 -d auditorleans -f deploy/sql/postgresql/004-console-sessions.sql
-- session_hash: hex SHA-256 of the random session id carried in the (encrypted) session cookie;
-- the id itself is never stored, so a copy of this table opens no session. key_id: the public id
-- of the API key that signed in. created_at, expires_at: microseconds since 1970-01-01 UTC.
-- A session exists while its row does: sign-out deletes the row, expired rows are purged.

BEGIN;

SELECT pg_advisory_xact_lock(280267491668);

CREATE TABLE IF NOT EXISTS console_sessions (
    session_hash text   NOT NULL PRIMARY KEY,
    key_id       text   NOT NULL,
    created_at   bigint NOT NULL,
    expires_at   bigint NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_console_sessions_expires ON console_sessions (expires_at);

INSERT INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-console-sessions', 1, now())
ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at
    WHERE schema_version.version < excluded.version;

COMMIT;
