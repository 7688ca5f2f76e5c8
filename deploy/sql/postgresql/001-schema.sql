-- AuditOrleans schema for PostgreSQL (clusters: Storage:Provider=PostgreSql, Cluster:Mode=AdoNet).
-- Applied by each silo at start when AuditOrleans:Storage:ApplySchema is true. The script is
-- idempotent and runs in one transaction under an advisory lock, so several silos starting at
-- once apply it one after the other and the later ones find nothing left to do.
-- DBAs may apply it themselves with: psql -v ON_ERROR_STOP=1 -d auditorleans -f deploy/sql/postgresql/001-schema.sql
--
-- Times of our own tables are microseconds since 1970-01-01 UTC (bigint), as in the SQLite schema.
-- Orleans' membership tables keep timestamptz because Orleans binds DateTime values there.

BEGIN;

-- 0x4155444954 = 'AUDIT': one lock id for every AuditOrleans schema script.
SELECT pg_advisory_xact_lock(280267491668);

CREATE TABLE IF NOT EXISTS schema_version (
    component  text        NOT NULL PRIMARY KEY,
    version    integer     NOT NULL,
    applied_at timestamptz NOT NULL
);

------------------------------------------------------------------------------------------------
-- Orleans ADO.NET provider contract: the providers read their statements from OrleansQuery.
-- Statements are upserted so that a newer script replaces an older statement.
------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

-- Grain state. GrainIdExtensionString is stored as '' rather than NULL so that the unique key
-- (and therefore the insert-or-version-check below) sees exactly one row per grain.
CREATE TABLE IF NOT EXISTS OrleansStorage (
    GrainIdHash            integer     NOT NULL,
    GrainIdN0              bigint      NOT NULL,
    GrainIdN1              bigint      NOT NULL,
    GrainTypeHash          integer     NOT NULL,
    GrainTypeString        text        NOT NULL,
    GrainIdExtensionString text        NOT NULL DEFAULT '',
    ServiceId              text        NOT NULL,
    PayloadBinary          bytea,
    ModifiedOn             timestamptz NOT NULL,
    Version                integer
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_orleansstorage_grain
    ON OrleansStorage (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, GrainIdExtensionString, ServiceId);

-- Read: the payload and its version (the ETag), or no row.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', '
SELECT PayloadBinary, Version
FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString = COALESCE(CAST(@GrainIdExtensionString AS text), '''')
  AND ServiceId = @ServiceId;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Write, with the version check (the ETag): a grain that read no state (version NULL) may only
-- insert, and the insert does nothing when a row exists; a grain that read version N may only
-- update the row still at version N. The new version comes back as one row; no row means a
-- concurrent writer won, which Orleans reports as InconsistentStateException.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', '
WITH updated AS (
    UPDATE OrleansStorage
    SET PayloadBinary = @PayloadBinary, ModifiedOn = now(), Version = Version + 1
    WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString = COALESCE(CAST(@GrainIdExtensionString AS text), '''')
      AND ServiceId = @ServiceId
      AND Version = CAST(@GrainStateVersion AS integer)
    RETURNING Version
), inserted AS (
    INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
                                GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
    SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
           COALESCE(CAST(@GrainIdExtensionString AS text), ''''), @ServiceId, @PayloadBinary, now(), 1
    WHERE CAST(@GrainStateVersion AS integer) IS NULL
    ON CONFLICT (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, GrainIdExtensionString, ServiceId) DO NOTHING
    RETURNING Version
)
SELECT Version AS NewGrainStateVersion FROM updated
UNION ALL
SELECT Version AS NewGrainStateVersion FROM inserted;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Clear: keeps the row (and its version) but drops the payload, under the same version check.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL, ModifiedOn = now(), Version = Version + 1
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString = COALESCE(CAST(@GrainIdExtensionString AS text), '''')
  AND ServiceId = @ServiceId
  AND Version = CAST(@GrainStateVersion AS integer)
RETURNING Version AS NewGrainStateVersion;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Delete (DeleteStateOnClear): removes the row under the version check.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString = COALESCE(CAST(@GrainIdExtensionString AS text), '''')
  AND ServiceId = @ServiceId
  AND Version = CAST(@GrainStateVersion AS integer)
RETURNING Version + 1 AS NewGrainStateVersion;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

------------------------------------------------------------------------------------------------
-- Orleans membership (Cluster:Mode=AdoNet). One version row per cluster id (DeploymentId)
-- guards every change of the table: a change names the version it read and bumps it, so two
-- silos can never both apply a change based on the same view.
------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable (
    DeploymentId varchar(150) NOT NULL PRIMARY KEY,
    Timestamp    timestamptz  NOT NULL DEFAULT now(),
    Version      integer      NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS OrleansMembershipTable (
    DeploymentId varchar(150) NOT NULL,
    Address      varchar(45)  NOT NULL,
    Port         integer      NOT NULL,
    Generation   integer      NOT NULL,
    SiloName     varchar(150) NOT NULL,
    HostName     varchar(150) NOT NULL,
    Status       integer      NOT NULL,
    ProxyPort    integer,
    SuspectTimes text,
    StartTime    timestamptz  NOT NULL,
    IAmAliveTime timestamptz  NOT NULL,
    PRIMARY KEY (DeploymentId, Address, Port, Generation)
);

-- Returns true when this call created the cluster's version row.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipVersionKey', '
WITH created AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId)
    VALUES (@DeploymentId)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM created);
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Inserts a silo row when the table is still at @Version, and bumps the version; returns
-- whether it did. The version row is locked first, so of two concurrent changes based on
-- the same version only one succeeds.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipKey', '
WITH current_version AS (
    SELECT DeploymentId
    FROM OrleansMembershipVersionTable
    WHERE DeploymentId = @DeploymentId AND Version = @Version
    FOR UPDATE
), inserted AS (
    INSERT INTO OrleansMembershipTable (DeploymentId, Address, Port, Generation, SiloName, HostName,
                                        Status, ProxyPort, StartTime, IAmAliveTime)
    SELECT DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
           @Status, @ProxyPort, @StartTime, @IAmAliveTime
    FROM current_version
    ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING
    RETURNING DeploymentId
), bumped AS (
    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId IN (SELECT DeploymentId FROM inserted)
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM bumped);
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Updates a silo row (status, suspicions, heartbeat) under the same version rule.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateMembershipKey', '
WITH current_version AS (
    SELECT DeploymentId
    FROM OrleansMembershipVersionTable
    WHERE DeploymentId = @DeploymentId AND Version = @Version
    FOR UPDATE
), updated AS (
    UPDATE OrleansMembershipTable m
    SET Status = @Status,
        SuspectTimes = @SuspectTimes,
        IAmAliveTime = GREATEST(m.IAmAliveTime, @IAmAliveTime)
    FROM current_version v
    WHERE m.DeploymentId = v.DeploymentId
      AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
    RETURNING m.DeploymentId
), bumped AS (
    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId IN (SELECT DeploymentId FROM updated)
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM bumped);
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- The heartbeat: no version check, and never moves backwards.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateIAmAlivetimeKey', '
UPDATE OrleansMembershipTable
SET IAmAliveTime = GREATEST(IAmAliveTime, @IAmAliveTime)
WHERE DeploymentId = @DeploymentId
  AND Address = @Address AND Port = @Port AND Generation = @Generation;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Reads return the version row even when no silo row matches (Orleans needs the version).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadRowKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
       m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m
       ON m.DeploymentId = v.DeploymentId
      AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
WHERE v.DeploymentId = @DeploymentId;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadAllKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
       m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Gateways of active silos (Status = @Status, which Orleans passes as Active).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('GatewaysQueryKey', '
SELECT Address, ProxyPort, Generation
FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteMembershipTableEntriesKey', '
WITH silos AS (
    DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId
)
DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Bulk cleanup, used by Orleans only when CleanupDefunctSiloEntryKey is absent: removes rows of
-- dead silos (Status 6 = Dead) that started and were last heard from before @IAmAliveTime and
-- that carry no suspicion vote cast at or after @IAmAliveTime (the rule Orleans applies itself
-- when it cleans up row by row). SuspectTimes holds votes "silo,yyyy-MM-dd HH:mm:ss.fff GMT"
-- separated by '|'.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntriesKey', '
DELETE FROM OrleansMembershipTable m
WHERE m.DeploymentId = @DeploymentId
  AND m.Status = 6
  AND m.IAmAliveTime < @IAmAliveTime
  AND m.StartTime < @IAmAliveTime
  AND NOT EXISTS (
      SELECT 1
      FROM unnest(string_to_array(COALESCE(m.SuspectTimes, ''''), ''|'')) AS vote(v)
      WHERE vote.v <> ''''
        AND CAST(split_part(vote.v, '','', 2) AS timestamptz) >= @IAmAliveTime
  );
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Removes one dead silo's row, chosen by Orleans from its read of the table, only while the row
-- is still exactly as read (Dead, same StartTime, IAmAliveTime and SuspectTimes): a row changed
-- since (a late heartbeat, a new vote) stays for a later round.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntryKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId
  AND Address = @Address AND Port = @Port AND Generation = @Generation
  AND Status = 6
  AND StartTime = @StartTime
  AND IAmAliveTime = @IAmAliveTime
  AND COALESCE(SuspectTimes, '''') = COALESCE(CAST(@SuspectTimes AS text), '''');
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

------------------------------------------------------------------------------------------------
-- The audit log. One hash chain per project-region: seq is contiguous from 1, and
-- hash = SHA-256(project_id \n region \n seq \n prev_hash \n payload), payload being the
-- event's canonical JSON.
------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS audit_events (
    project_id   text    NOT NULL,
    region       text    NOT NULL,
    seq          bigint  NOT NULL,
    event_id     text    NOT NULL,
    recorded_at  bigint  NOT NULL,
    ingested_at  bigint  NOT NULL,
    principal_id text,
    source_ip    text,
    product_name text,
    method_name  text,
    status_code  integer NOT NULL,
    payload      text    NOT NULL,
    prev_hash    text    NOT NULL,
    hash         text    NOT NULL,
    PRIMARY KEY (project_id, region, seq)
);

-- Idempotency: an event id is stored once per project.
CREATE UNIQUE INDEX IF NOT EXISTS ux_audit_events_event_id ON audit_events (project_id, event_id);
-- The indexes for the query filters (principal, source IP, method, status) are in 008-query-indexes.sql.
CREATE INDEX IF NOT EXISTS ix_audit_events_time      ON audit_events (project_id, region, recorded_at, seq);

-- Resource ids of each event, for "everything that touched this resource".
CREATE TABLE IF NOT EXISTS audit_event_resources (
    project_id  text   NOT NULL,
    resource_id text   NOT NULL,
    region      text   NOT NULL,
    seq         bigint NOT NULL,
    PRIMARY KEY (project_id, resource_id, region, seq)
);

-- Where a retention purge cut a chain: verification restarts from this hash. signature is an
-- HMAC (key derived from the checkpoint key, never stored here) over the chain, seq, hash,
-- purged_at, retention_days (Retention:Days of the purge) and proven_at (created_at of the signed
-- checkpoint that showed the chain had reached seq before the retention cutoff). Anchors written
-- before anchors were signed have NULL there; verification reports them.
CREATE TABLE IF NOT EXISTS audit_chain_anchors (
    project_id     text    NOT NULL,
    region         text    NOT NULL,
    seq            bigint  NOT NULL,
    hash           text    NOT NULL,
    purged_at      bigint  NOT NULL,
    retention_days integer,
    proven_at      bigint,
    signature      text,
    PRIMARY KEY (project_id, region)
);
-- Databases created before anchors were signed.
ALTER TABLE audit_chain_anchors ADD COLUMN IF NOT EXISTS retention_days integer;
ALTER TABLE audit_chain_anchors ADD COLUMN IF NOT EXISTS proven_at bigint;
ALTER TABLE audit_chain_anchors ADD COLUMN IF NOT EXISTS signature text;

-- Chain heads published at intervals, signed with the silo's checkpoint key.
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    project_id text   NOT NULL,
    region     text   NOT NULL,
    seq        bigint NOT NULL,
    hash       text   NOT NULL,
    created_at bigint NOT NULL,
    signature  text   NOT NULL,
    PRIMARY KEY (project_id, region, seq)
);

------------------------------------------------------------------------------------------------
-- Notifications: contacts, fired alerts (the outbox) and their delivery per recipient.
------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS notification_contacts (
    project_id text    NOT NULL,
    email      text    NOT NULL,
    types      integer NOT NULL,
    created_at bigint  NOT NULL,
    PRIMARY KEY (project_id, email)
);

CREATE TABLE IF NOT EXISTS fired_alerts (
    id           text    NOT NULL PRIMARY KEY,
    project_id   text    NOT NULL,
    region       text    NOT NULL,
    alert        text    NOT NULL,
    severity     text    NOT NULL,
    triggered_at bigint  NOT NULL,
    event_time   bigint  NOT NULL,
    window_start bigint  NOT NULL,
    window_end   bigint  NOT NULL,
    facts        text    NOT NULL,
    is_test      integer NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS ix_fired_alerts_project ON fired_alerts (project_id, triggered_at);
CREATE INDEX IF NOT EXISTS ix_fired_alerts_rule    ON fired_alerts (project_id, region, alert, window_end);

-- state: 0 pending, 1 retrying, 2 delivered, 3 failed (permanently refused or out of attempts).
CREATE TABLE IF NOT EXISTS alert_deliveries (
    alert_id        text    NOT NULL,
    recipient       text    NOT NULL,
    state           integer NOT NULL DEFAULT 0,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at bigint  NOT NULL,
    delivered_at    bigint,
    message_id      text    NOT NULL,
    PRIMARY KEY (alert_id, recipient)
);

CREATE INDEX IF NOT EXISTS ix_alert_deliveries_due ON alert_deliveries (state, next_attempt_at);

INSERT INTO schema_version (component, version, applied_at)
VALUES ('auditorleans', 2, now())
ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at
    WHERE schema_version.version < excluded.version;

COMMIT;
