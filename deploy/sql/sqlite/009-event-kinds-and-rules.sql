-- AuditOrleans event kinds and custom alert rules for SQLite (docs/events.md, Event kinds;
-- docs/rules.md). Applied by the silo at start after the earlier scripts; idempotent.
--
-- audit_events.kind: 'api', 'authentication' or 'system' (the kind is also in the hashed payload:
-- an authentication or system event is stored wrapped as {"auth": ...} or {"system": ...}; an API
-- event's payload is unchanged, so existing chains verify as before). Events other than API calls
-- have no HTTP status: their status_code column holds 0, which no status filter matches.
-- fired_alerts.rule_id: the custom rule a firing or a rule change belongs to (NULL for the five
-- preconfigured alerts); a rule's counting window restarts after its last firing.
--
-- SQLite has no ADD COLUMN IF NOT EXISTS: the silo adds both columns itself before this script
-- runs (AuditDatabase). DBAs who apply the scripts by hand run these two statements once first:
--   ALTER TABLE audit_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
--   ALTER TABLE fired_alerts ADD COLUMN rule_id TEXT;
-- The rules themselves live in the alert configuration's grain state (OrleansStorage).

CREATE INDEX IF NOT EXISTS ix_audit_events_kind ON audit_events (project_id, region, kind, recorded_at);
CREATE INDEX IF NOT EXISTS ix_fired_alerts_custom_rule ON fired_alerts (project_id, region, rule_id, event_time);

INSERT OR REPLACE INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-rules', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
