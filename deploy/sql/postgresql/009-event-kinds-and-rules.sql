-- AuditOrleans event kinds and custom alert rules for PostgreSQL (docs/events.md, Event kinds;
-- docs/rules.md). Applied by each silo at start after the earlier scripts, under the same advisory
-- lock; idempotent. DBAs may apply it themselves with:
--   psql -v ON_ERROR_STOP=1 -d auditorleans -f deploy/sql/postgresql/009-event-kinds-and-rules.sql
--
-- audit_events.kind: 'api', 'authentication' or 'system' (the kind is also in the hashed payload:
-- an authentication or system event is stored wrapped as {"auth": ...} or {"system": ...}; an API
-- event's payload is unchanged, so existing chains verify as before). Events other than API calls
-- have no HTTP status: their status_code column holds 0, which no status filter matches.
-- fired_alerts.rule_id: the custom rule a firing or a rule change belongs to (NULL for the five
-- preconfigured alerts); a rule's counting window restarts after its last firing.
-- The rules themselves live in the alert configuration's grain state (OrleansStorage).

BEGIN;

SELECT pg_advisory_xact_lock(280267491668);

ALTER TABLE audit_events ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'api';
ALTER TABLE fired_alerts ADD COLUMN IF NOT EXISTS rule_id text;

CREATE INDEX IF NOT EXISTS ix_audit_events_kind ON audit_events (project_id, region, kind, recorded_at);
CREATE INDEX IF NOT EXISTS ix_fired_alerts_custom_rule ON fired_alerts (project_id, region, rule_id, event_time);

INSERT INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-rules', 1, now())
ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at
    WHERE schema_version.version < excluded.version;

COMMIT;
