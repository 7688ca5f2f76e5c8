-- AuditOrleans silences of single custom rules for PostgreSQL (docs/alerts.md, Silences;
-- docs/rules.md). Applied by each silo at start after the earlier scripts, under the same
-- advisory lock; idempotent. DBAs may apply it themselves with:
--   psql -v ON_ERROR_STOP=1 -d auditorleans -f deploy/sql/postgresql/010-silence-rules.sql
--
-- alert_silences.rules: the custom rules a silence holds by name, comma-separated (rule names are
-- letters, digits, '-', '_' and '.'); NULL when it names none. It holds a CustomRule firing whose
-- rule has one of these names (case-insensitive). alerts may then be empty ('').

BEGIN;

SELECT pg_advisory_xact_lock(280267491668);

ALTER TABLE alert_silences ADD COLUMN IF NOT EXISTS rules text;

INSERT INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-silence-rules', 1, now())
ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at
    WHERE schema_version.version < excluded.version;

COMMIT;
