-- AuditOrleans web console for SQLite: the data-protection key ring that encrypts the
-- console's session cookies, shared by every silo of the database. Applied by the silo at start
-- after 002-security.sql; idempotent.
-- name: the key's file-style name (key-<guid>); xml: the key element as data protection writes
-- it; created_at: microseconds since the Unix epoch (UTC). Rows are only ever added.
CREATE TABLE IF NOT EXISTS console_keys (
    name       TEXT    NOT NULL PRIMARY KEY,
    xml        TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

INSERT OR REPLACE INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-console', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
