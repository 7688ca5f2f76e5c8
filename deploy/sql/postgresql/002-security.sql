-- AuditOrleans access control for PostgreSQL: API keys (docs/security.md, Keys).
-- Applied by each silo at start after 001-schema.sql (which creates schema_version), in one
-- transaction under the same advisory lock as 001, so silos starting at once do not collide.
-- DBAs may apply it themselves with: psql -v ON_ERROR_STOP=1 -d auditorleans -f deploy/sql/postgresql/002-security.sql
-- Only a salted PBKDF2-HMAC-SHA256 hash of each secret is stored, never the secret.

BEGIN;

SELECT pg_advisory_xact_lock(280267491668);

-- role: Owner, AlertsManager, ReadOnly or EventWriter. project_id is NULL for Owner keys.
-- salt and hash are lower-case hex; iterations is the PBKDF2 work factor used for this key.
-- Times are microseconds since 1970-01-01 UTC. A revoked key keeps its row (revoked_at set).
CREATE TABLE IF NOT EXISTS api_keys (
    id          text    NOT NULL PRIMARY KEY,
    role        text    NOT NULL,
    project_id  text,
    description text,
    salt        text    NOT NULL,
    hash        text    NOT NULL,
    iterations  integer NOT NULL,
    created_at  bigint  NOT NULL,
    revoked_at  bigint
);

CREATE INDEX IF NOT EXISTS ix_api_keys_project ON api_keys (project_id);

-- Cluster-wide settings of the security layer (name/value), e.g. the token that marks the
-- silos' own in-process calls; created by the first silo that needs them.
CREATE TABLE IF NOT EXISTS security_settings (
    name  text NOT NULL PRIMARY KEY,
    value text NOT NULL
);

INSERT INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-security', 1, now())
ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at
    WHERE schema_version.version < excluded.version;

COMMIT;
