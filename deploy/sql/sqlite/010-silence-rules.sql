-- AuditOrleans silences of single custom rules for SQLite (docs/alerts.md, Silences; docs/rules.md).
-- Applied by the silo at start after the earlier scripts; idempotent.
--
-- alert_silences.rules: the custom rules a silence holds by name, comma-separated (rule names are
-- letters, digits, '-', '_' and '.'); NULL when it names none. It holds a CustomRule firing whose
-- rule has one of these names (case-insensitive). alerts may then be empty ('').
--
-- SQLite has no ADD COLUMN IF NOT EXISTS: the silo adds the column itself (AuditDatabase). DBAs
-- who apply the scripts by hand run this statement once first:
--   ALTER TABLE alert_silences ADD COLUMN rules TEXT;

INSERT OR REPLACE INTO schema_version (component, version, applied_at)
VALUES ('auditorleans-silence-rules', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
