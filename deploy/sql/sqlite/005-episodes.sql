-- AuditOrleans for SQLite: the life of an alert on the detection side (docs/alerts.md, Episodes;
-- Backfill and late events). Applied by the silo at start after 004-console-sessions.sql;
-- idempotent.
--
-- alert_episodes: one row per HttpForbiddenErrorRateHigh episode, written in the transaction of
-- the notice that changes it (its firing, an update, its resolved notice), so that a detector
-- that starts again (restart, failover) finds the episode it was in. Times are microseconds since
-- 1970-01-01 UTC.
--   id:                the id of the firing that opened the episode (fired_alerts.id)
--   state:             0 open, 1 resolved; at most one open episode per project-region and alert
--   started_at:        start of the window of the opening firing (recorded_at time)
--   opened_at:         silo clock when it opened
--   notice_at:         silo clock of its last notice (the firing or the last update)
--   notice_seq:        the log position (audit_events.seq) the last notice counted up to
--   notice_count:      403 events the last notice reported
--   notice_principals, notice_source_ips: JSON arrays, the top principals and source IPs it listed
--   updates:           update notices sent
--   backfill:          1 while every notice of the episode came from a historical send
--   ended_at:          recorded_at of its last 403 (resolved)
--   resolved_at:       silo clock when it was resolved
--   resolved_by:       id of the resolved notice (fired_alerts.id)
CREATE TABLE IF NOT EXISTS alert_episodes (
    id                TEXT    NOT NULL PRIMARY KEY,
    project_id        TEXT    NOT NULL,
    region            TEXT    NOT NULL,
    alert             TEXT    NOT NULL,
    state             INTEGER NOT NULL DEFAULT 0,
    started_at        INTEGER NOT NULL,
    opened_at         INTEGER NOT NULL,
    notice_at         INTEGER NOT NULL,
    notice_seq        INTEGER NOT NULL,
    notice_count      INTEGER NOT NULL,
    notice_principals TEXT    NOT NULL,
    notice_source_ips TEXT    NOT NULL,
    updates           INTEGER NOT NULL DEFAULT 0,
    backfill          INTEGER NOT NULL DEFAULT 0,
    ended_at          INTEGER,
    resolved_at       INTEGER,
    resolved_by       TEXT
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_alert_episodes_open ON alert_episodes (project_id, region, alert) WHERE state = 0;

-- fired_alerts gains four columns; SQLite has no ADD COLUMN IF NOT EXISTS, so the silo adds them
-- at start (AuditDatabase), as
--   ALTER TABLE fired_alerts ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
--   ALTER TABLE fired_alerts ADD COLUMN episode_id TEXT;
--   ALTER TABLE fired_alerts ADD COLUMN backfill INTEGER NOT NULL DEFAULT 0;
--   ALTER TABLE fired_alerts ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
-- (run them by hand only when applying this file yourself).
--   kind:       0 firing, 1 update, 2 resolved (AlertKind)
--   episode_id: the alert_episodes row of a HttpForbiddenErrorRateHigh entry
--   backfill:   1 when caused by a historical send (Send-AuditEvent -Historical): no delivery rows
--   late:       1 when its event was stored more than Alerts:LatenessThreshold after its recorded_at

INSERT OR REPLACE INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-episodes', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
