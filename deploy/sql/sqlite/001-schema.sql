-- AuditOrleans schema for SQLite (the embedded default).
-- Applied by the silo at start when AuditOrleans:Storage:ApplySchema is true; idempotent.
-- DBAs may apply it themselves with: sqlite3 data/auditorleans.db < deploy/sql/sqlite/001-schema.sql

-- Pages of 16 KiB instead of SQLite's 4 KiB (docs/architecture.md, Persistence: Page size): an
-- event's row (its canonical JSON, about 1 KB) and its index entries take a quarter as many pages,
-- so each commit writes fewer pages to the write-ahead log. It applies only to a new, empty file
-- and must come before the log mode; an existing database keeps its page size.
PRAGMA page_size=16384;

-- Write-ahead log: readers never block the writer; the mode is kept in the file.
PRAGMA journal_mode=WAL;

CREATE TABLE IF NOT EXISTS schema_version (
    component  TEXT    NOT NULL PRIMARY KEY,
    version    INTEGER NOT NULL,
    applied_at TEXT    NOT NULL
);

------------------------------------------------------------------------------------------------
-- Orleans ADO.NET provider contract: the providers read their statements from OrleansQuery.
------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);

-- Grain state. GrainIdExtensionString is stored as '' rather than NULL so that the unique key
-- (and therefore the insert-or-version-check below) sees one row per grain.
CREATE TABLE IF NOT EXISTS OrleansStorage (
    GrainIdHash            INTEGER NOT NULL,
    GrainIdN0              INTEGER NOT NULL,
    GrainIdN1              INTEGER NOT NULL,
    GrainTypeHash          INTEGER NOT NULL,
    GrainTypeString        TEXT    NOT NULL,
    GrainIdExtensionString TEXT    NOT NULL DEFAULT '',
    ServiceId              TEXT    NOT NULL,
    PayloadBinary          BLOB,
    ModifiedOn             TEXT    NOT NULL,
    Version                INTEGER
);

CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_Grain
    ON OrleansStorage (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, GrainIdExtensionString, ServiceId);

-- Read: the payload and its version (the ETag), or no row.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', '
SELECT PayloadBinary, Version
FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '''')
  AND ServiceId = @ServiceId;
');

-- Write, with the version check (the ETag): a write without a version (the grain read no state)
-- may only insert, and an existing row turns it into a conflict (the update below requires the
-- stored version to equal NULL, which it never does); a write with version N may only update the
-- row still at version N, and finds nothing to insert when the row is gone (deleted by a clear):
-- a stale ETag never re-creates a row. The new version comes back as one row; no row means a
-- conflict, which Orleans reports as InconsistentStateException.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', '
INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
                            GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
       COALESCE(@GrainIdExtensionString, ''''), @ServiceId, @PayloadBinary, strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now''), 1
WHERE @GrainStateVersion IS NULL
   OR EXISTS (SELECT 1 FROM OrleansStorage
              WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
                AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
                AND GrainTypeString = @GrainTypeString
                AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '''')
                AND ServiceId = @ServiceId)
ON CONFLICT (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, GrainIdExtensionString, ServiceId)
DO UPDATE SET PayloadBinary = excluded.PayloadBinary,
              ModifiedOn = excluded.ModifiedOn,
              Version = OrleansStorage.Version + 1
   WHERE OrleansStorage.Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;
');

-- Clear: keeps the row (and its version) but drops the payload, under the same version check.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL, Version = Version + 1,
    ModifiedOn = strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now'')
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '''')
  AND ServiceId = @ServiceId
  AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;
');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '''')
  AND ServiceId = @ServiceId
  AND Version = @GrainStateVersion
RETURNING Version + 1 AS NewGrainStateVersion;
');

------------------------------------------------------------------------------------------------
-- The audit log. One hash chain per project-region: seq is contiguous from 1, and
-- hash = SHA-256(project_id \n region \n seq \n prev_hash \n payload), payload being the
-- event's canonical JSON. Times are microseconds since 1970-01-01 UTC.
------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS audit_events (
    project_id   TEXT    NOT NULL,
    region       TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    event_id     TEXT    NOT NULL,
    recorded_at  INTEGER NOT NULL,
    ingested_at  INTEGER NOT NULL,
    principal_id TEXT,
    source_ip    TEXT,
    product_name TEXT,
    method_name  TEXT,
    status_code  INTEGER NOT NULL,
    payload      TEXT    NOT NULL,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    PRIMARY KEY (project_id, region, seq)
) WITHOUT ROWID;

-- Idempotency: an event id is stored once per project.
CREATE UNIQUE INDEX IF NOT EXISTS ux_audit_events_event_id ON audit_events (project_id, event_id);
-- The indexes for the query filters (principal, source IP, method) are in 008-query-indexes.sql.
CREATE INDEX IF NOT EXISTS ix_audit_events_time      ON audit_events (project_id, region, recorded_at, seq);
CREATE INDEX IF NOT EXISTS ix_audit_events_status    ON audit_events (project_id, region, status_code, recorded_at);

-- Resource ids of each event, for "everything that touched this resource".
CREATE TABLE IF NOT EXISTS audit_event_resources (
    project_id  TEXT    NOT NULL,
    resource_id TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (project_id, resource_id, region, seq)
) WITHOUT ROWID;

-- Where a retention purge cut a chain: verification restarts from this hash. signature is an
-- HMAC (key derived from the checkpoint key, never stored here) over the chain, seq, hash,
-- purged_at, retention_days (Retention:Days of the purge) and proven_at (created_at of the signed
-- checkpoint that showed the chain had reached seq before the retention cutoff). Anchors written
-- before anchors were signed have NULL there; verification reports them.
-- Databases created before these three columns: the silo adds them at start, as
--   ALTER TABLE audit_chain_anchors ADD COLUMN retention_days INTEGER;
--   ALTER TABLE audit_chain_anchors ADD COLUMN proven_at INTEGER;
--   ALTER TABLE audit_chain_anchors ADD COLUMN signature TEXT;
-- (SQLite has no ADD COLUMN IF NOT EXISTS; run them by hand only when applying this file yourself
-- to such a database).
CREATE TABLE IF NOT EXISTS audit_chain_anchors (
    project_id     TEXT    NOT NULL,
    region         TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    hash           TEXT    NOT NULL,
    purged_at      INTEGER NOT NULL,
    retention_days INTEGER,
    proven_at      INTEGER,
    signature      TEXT,
    PRIMARY KEY (project_id, region)
) WITHOUT ROWID;

-- Chain heads published at intervals, signed with the silo's checkpoint key.
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    project_id TEXT    NOT NULL,
    region     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    hash       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    signature  TEXT    NOT NULL,
    PRIMARY KEY (project_id, region, seq)
) WITHOUT ROWID;

------------------------------------------------------------------------------------------------
-- Notifications: contacts, fired alerts (the outbox) and their delivery per recipient.
------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS notification_contacts (
    project_id TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    types      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, email)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS fired_alerts (
    id           TEXT    NOT NULL PRIMARY KEY,
    project_id   TEXT    NOT NULL,
    region       TEXT    NOT NULL,
    alert        TEXT    NOT NULL,
    severity     TEXT    NOT NULL,
    triggered_at INTEGER NOT NULL,
    event_time   INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    facts        TEXT    NOT NULL,
    is_test      INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS ix_fired_alerts_project ON fired_alerts (project_id, triggered_at);
CREATE INDEX IF NOT EXISTS ix_fired_alerts_rule    ON fired_alerts (project_id, region, alert, window_end);

-- state: 0 pending, 1 retrying, 2 delivered, 3 failed (permanently refused or out of attempts).
CREATE TABLE IF NOT EXISTS alert_deliveries (
    alert_id        TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    state           INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    message_id      TEXT    NOT NULL,
    PRIMARY KEY (alert_id, recipient)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS ix_alert_deliveries_due ON alert_deliveries (state, next_attempt_at);

INSERT OR REPLACE INTO schema_version (component, version, applied_at)
VALUES ('auditorleans', 2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
