-- AuditOrleans for PostgreSQL: the life of an alert on the detection side (docs/alerts.md,
-- Episodes; Backfill and late events). Applied by each silo at start after
-- 004-console-sessions.sql, under the same advisory lock. DBAs may apply it themselves with:
--   psql -v ON_ERROR_STOP=1 -d auditorleans -f deploy/sql/postgresql/005-episodes.sql
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
--
-- fired_alerts gains:
--   kind:       0 firing, 1 update, 2 resolved (AlertKind)
--   episode_id: the alert_episodes row of a HttpForbiddenErrorRateHigh entry
--   backfill:   1 when caused by a historical send (Send-AuditEvent -Historical): no delivery rows
--   late:       1 when its event was stored more than Alerts:LatenessThreshold after its recorded_at

BEGIN;

SELECT pg_advisory_xact_lock(280267491668);

CREATE TABLE IF NOT EXISTS alert_episodes (
    id                text    NOT NULL PRIMARY KEY,
    project_id        text    NOT NULL,
    region            text    NOT NULL,
    alert             text    NOT NULL,
    state             integer NOT NULL DEFAULT 0,
    started_at        bigint  NOT NULL,
    opened_at         bigint  NOT NULL,
    notice_at         bigint  NOT NULL,
    notice_seq        bigint  NOT NULL,
    notice_count      integer NOT NULL,
    notice_principals text    NOT NULL,
    notice_source_ips text    NOT NULL,
    updates           integer NOT NULL DEFAULT 0,
    backfill          integer NOT NULL DEFAULT 0,
    ended_at          bigint,
    resolved_at       bigint,
    resolved_by       text
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_alert_episodes_open ON alert_episodes (project_id, region, alert) WHERE state = 0;

ALTER TABLE fired_alerts ADD COLUMN IF NOT EXISTS kind       integer NOT NULL DEFAULT 0;
ALTER TABLE fired_alerts ADD COLUMN IF NOT EXISTS episode_id text;
ALTER TABLE fired_alerts ADD COLUMN IF NOT EXISTS backfill   integer NOT NULL DEFAULT 0;
ALTER TABLE fired_alerts ADD COLUMN IF NOT EXISTS late       integer NOT NULL DEFAULT 0;

INSERT INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-episodes', 1, now())
ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at
    WHERE schema_version.version < excluded.version;

COMMIT;
