-- AuditOrleans web console for SQLite: the console's sessions, so that signing out ends a session
-- on every silo of the database (the session cookie alone would stay valid until it expires).
-- Applied by the silo at start after 003-console.sql; idempotent.
-- session_hash: hex SHA-256 of the random session id carried in the (encrypted) session cookie;
-- the id itself is never stored, so a copy of this table opens no session. key_id: the public id
-- of the API key that signed in. created_at, expires_at: microseconds since the Unix epoch (UTC).
-- A session exists while its row does: sign-out deletes the row, expired rows are purged.
CREATE TABLE IF NOT EXISTS console_sessions (
    session_hash TEXT    NOT NULL PRIMARY KEY,
    key_id       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS ix_console_sessions_expires ON console_sessions (expires_at);

INSERT OR REPLACE INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-console-sessions', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
