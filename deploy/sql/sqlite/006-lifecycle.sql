-- AuditOrleans alert lifecycle for SQLite, delivery side (docs/alerts.md: Grouping, The email cap,
-- Silences, Acknowledgement). Applied by the silo at start after the earlier scripts; idempotent.
-- Times are microseconds since 1970-01-01 UTC. New tables only: the tables of 001-schema.sql are
-- not changed. alert_deliveries.state gains two values: 4 = carried by a digest (the firing's
-- row in alert_digest_members names it; its state is the digest's), 5 = silenced (not sent).

-- One row per project-region, single-event alert and recipient that was emailed: the planned time
-- of its last email (an email of its own, or a digest's due time) and the digest still collecting
-- matches. A match within Alerts:GroupInterval of last_email_at joins that digest (or opens one
-- due at last_email_at + GroupInterval); a later match is emailed at once.
CREATE TABLE IF NOT EXISTS alert_groups (
    project_id     TEXT    NOT NULL,
    region         TEXT    NOT NULL,
    alert          TEXT    NOT NULL,
    recipient      TEXT    NOT NULL,
    last_email_at  INTEGER NOT NULL,
    open_digest_id TEXT,
    PRIMARY KEY (project_id, region, alert, recipient)
) WITHOUT ROWID;

-- One email that carries several firings to one recipient. region and alert are NULL for a
-- merged digest (the contact's email cap was reached: every held email of the project goes out
-- in it). closed_at: when the outbox took it (no firing joins it after). state, attempts,
-- last_error, next_attempt_at, delivered_at: as in alert_deliveries.
CREATE TABLE IF NOT EXISTS alert_digests (
    id              TEXT    NOT NULL PRIMARY KEY,
    project_id      TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    region          TEXT,
    alert           TEXT,
    opened_at       INTEGER NOT NULL,
    due_at          INTEGER NOT NULL,
    closed_at       INTEGER,
    state           INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    message_id      TEXT    NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS ix_alert_digests_due     ON alert_digests (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS ix_alert_digests_contact ON alert_digests (project_id, recipient, closed_at);

-- Which digest carries a firing's delivery to a recipient (alert_deliveries.state = 4).
CREATE TABLE IF NOT EXISTS alert_digest_members (
    alert_id  TEXT NOT NULL,
    recipient TEXT NOT NULL,
    digest_id TEXT NOT NULL,
    PRIMARY KEY (alert_id, recipient)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS ix_alert_digest_members_digest ON alert_digest_members (digest_id);

-- The emails each contact received in the last hour (Alerts:MaxEmailsPerContactPerHour); rows
-- older than an hour are deleted as new ones come. message_id: the email's, so a repeat counts once.
CREATE TABLE IF NOT EXISTS alert_contact_sends (
    project_id TEXT    NOT NULL,
    recipient  TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    sent_at    INTEGER NOT NULL,
    PRIMARY KEY (project_id, recipient, message_id)
) WITHOUT ROWID;

-- Silences and maintenance windows. alerts: alert names separated by commas. region, principal_id,
-- source_ip: NULL matches any. A weekly silence has weekly_days (bit n: DayOfWeek n),
-- weekly_start (minutes after local midnight), weekly_duration (minutes) and time_zone (IANA id).
-- created_by, ended_by: public ids of API keys. ended_at: when someone ended it early.
CREATE TABLE IF NOT EXISTS alert_silences (
    id              TEXT    NOT NULL PRIMARY KEY,
    project_id      TEXT    NOT NULL,
    region          TEXT,
    alerts          TEXT    NOT NULL,
    principal_id    TEXT,
    source_ip       TEXT,
    starts_at       INTEGER NOT NULL,
    ends_at         INTEGER,
    weekly_days     INTEGER,
    weekly_start    INTEGER,
    weekly_duration INTEGER,
    time_zone       TEXT,
    reason          TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    ended_at        INTEGER,
    ended_by        TEXT,
    end_comment     TEXT
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS ix_alert_silences_project ON alert_silences (project_id, created_at);

-- The silence that held a firing (its deliveries are in state 5).
CREATE TABLE IF NOT EXISTS fired_alert_silences (
    alert_id   TEXT NOT NULL PRIMARY KEY,
    silence_id TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS ix_fired_alert_silences_silence ON fired_alert_silences (silence_id);

-- Who took (action 1) and closed (action 2) a firing, when and why; one row per step.
CREATE TABLE IF NOT EXISTS alert_acknowledgements (
    alert_id TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    action   INTEGER NOT NULL,
    key_id   TEXT    NOT NULL,
    comment  TEXT,
    PRIMARY KEY (alert_id, at, action)
) WITHOUT ROWID;

INSERT OR REPLACE INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-lifecycle', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
