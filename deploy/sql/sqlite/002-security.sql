-- AuditOrleans access control for SQLite: API keys (docs/security.md, Keys).
-- Applied by the silo at start after 001-schema.sql; idempotent.
-- Only a salted PBKDF2-HMAC-SHA256 hash of each secret is stored, never the secret.

-- role: Owner, AlertsManager, ReadOnly or EventWriter. project_id is NULL for Owner keys.
-- salt and hash are lower-case hex; iterations is the PBKDF2 work factor used for this key.
-- Times are microseconds since the Unix epoch (UTC). A revoked key keeps its row (revoked_at set).
CREATE TABLE IF NOT EXISTS api_keys (
    id          TEXT    NOT NULL PRIMARY KEY,
    role        TEXT    NOT NULL,
    project_id  TEXT,
    description TEXT,
    salt        TEXT    NOT NULL,
    hash        TEXT    NOT NULL,
    iterations  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE INDEX IF NOT EXISTS ix_api_keys_project ON api_keys (project_id);

-- Cluster-wide settings of the security layer (name/value), e.g. the token that marks the
-- silos' own in-process calls; created by the first silo that needs them.
CREATE TABLE IF NOT EXISTS security_settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

INSERT OR REPLACE INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-security', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
