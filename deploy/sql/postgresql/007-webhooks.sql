-- AuditOrleans webhook contacts for PostgreSQL (docs/webhooks.md). Applied by each silo at start
-- after the earlier scripts, under the same advisory lock; idempotent. DBAs may apply it with:
--   psql -v ON_ERROR_STOP=1 -d auditorleans -f deploy/sql/postgresql/007-webhooks.sql
-- Times are microseconds since 1970-01-01 UTC. A new table only: a webhook's deliveries are
-- alert_deliveries / alert_digests rows whose recipient is the webhook's id (wh_...), and whose
-- message_id is the webhook-id header sent on every attempt.
--
-- Nothing here is usable from the database alone: the URL (a Slack or Teams URL is itself a
-- credential) and the signing secrets are sealed with AES-256-GCM under a key derived from the
-- installation key (CheckpointKey or data/checkpoint.key), bound to the row's id; the id is an
-- HMAC of the project and URL under another derived key, so a reader cannot confirm a guessed
-- URL either. display_url shows the scheme, host and first path segment only.
-- previous_secret: the secret before the last rotation, which also signs until previous_expires_at.

BEGIN;

SELECT pg_advisory_xact_lock(280267491668);

CREATE TABLE IF NOT EXISTS notification_webhooks (
    id                  text    NOT NULL PRIMARY KEY,
    project_id          text    NOT NULL,
    url_sealed          text    NOT NULL,
    display_url         text    NOT NULL,
    format              integer NOT NULL,
    types               integer NOT NULL,
    created_at          bigint  NOT NULL,
    secret_sealed       text    NOT NULL,
    secret_fingerprint  text    NOT NULL,
    secret_created_at   bigint  NOT NULL,
    previous_secret     text,
    previous_expires_at bigint
);

CREATE INDEX IF NOT EXISTS ix_notification_webhooks_project ON notification_webhooks (project_id);

INSERT INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-webhooks', 1, now())
ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at
    WHERE schema_version.version < excluded.version;

COMMIT;
