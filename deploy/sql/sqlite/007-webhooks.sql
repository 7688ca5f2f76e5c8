-- AuditOrleans webhook contacts for SQLite (docs/webhooks.md). Applied by the silo at start after
-- the earlier scripts; idempotent. Times are microseconds since 1970-01-01 UTC. A new table only:
-- a webhook's deliveries are alert_deliveries / alert_digests rows whose recipient is the
-- webhook's id (wh_...), and whose message_id is the webhook-id header sent on every attempt.
--
-- Nothing here is usable from the database alone: the URL (a Slack or Teams URL is itself a
-- credential) and the signing secrets are sealed with AES-256-GCM under a key derived from the
-- installation key (CheckpointKey or data/checkpoint.key), bound to the row's id; the id is an
-- HMAC of the project and URL under another derived key, so a reader cannot confirm a guessed
-- URL either. display_url shows the scheme, host and first path segment only.
-- previous_secret: the secret before the last rotation, which also signs until previous_expires_at.
CREATE TABLE IF NOT EXISTS notification_webhooks (
    id                  TEXT    NOT NULL PRIMARY KEY,
    project_id          TEXT    NOT NULL,
    url_sealed          TEXT    NOT NULL,
    display_url         TEXT    NOT NULL,
    format              INTEGER NOT NULL,
    types               INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    secret_sealed       TEXT    NOT NULL,
    secret_fingerprint  TEXT    NOT NULL,
    secret_created_at   INTEGER NOT NULL,
    previous_secret     TEXT,
    previous_expires_at INTEGER
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS ix_notification_webhooks_project ON notification_webhooks (project_id);

INSERT OR REPLACE INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-webhooks', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
