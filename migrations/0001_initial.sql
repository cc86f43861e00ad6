-- 0001_initial: the state database of vomo-sync.
-- Every timestamp is UTC ISO 8601 text with milliseconds
-- ("2026-11-28T08:43:07.000Z"), so timestamps sort and compare as text.

-- Where each (tenant, resource) scan resumes: records updated on or after
-- updated_after are asked for next time.
CREATE TABLE checkpoints (
    tenant            TEXT NOT NULL,
    resource          TEXT NOT NULL,
    updated_after     TEXT NOT NULL DEFAULT '1970-01-01T00:00:00.000Z',
    last_scan_at      TEXT,              -- when the last scan finished (any outcome)
    last_scan_status  TEXT,              -- complete | incomplete | failed
    last_full_scan_at TEXT,              -- last complete reconciliation
    updated_at        TEXT NOT NULL,
    PRIMARY KEY (tenant, resource)
);

-- What each destination holds: the daemon's memory for the skip rule and
-- for reconciliation (webhook tenants too).  payload keeps VOMO's spelling.
CREATE TABLE records (
    tenant      TEXT NOT NULL,
    resource    TEXT NOT NULL,
    id          TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    hash        TEXT NOT NULL,           -- SHA-256 hex of the payload as received
    deleted_at  TEXT,                    -- set by reconciliation; NULL = live
    synced_at   TEXT NOT NULL,           -- when the destination took this version
    PRIMARY KEY (tenant, resource, id)
);

-- Dead letters: records that failed, retried by the DLQ processor and
-- escalated to manual_review when retrying cannot help.  Rows are never
-- evicted: they leave 'pending' only by being resolved, discarded or escalated.
CREATE TABLE dlq (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant            TEXT NOT NULL,
    resource          TEXT NOT NULL,
    record_id         TEXT NOT NULL,
    record_updated_at TEXT,              -- the version that failed (normalised)
    status            TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'resolved', 'manual_review', 'discarded')),
    error_class       TEXT NOT NULL,
    http_status       INTEGER,
    attempts          INTEGER NOT NULL DEFAULT 1,
    next_attempt_at   TEXT,
    last_error        TEXT,
    payload           TEXT,              -- the record as received, when there was one
    resolution        TEXT,              -- delivered | superseded | gone | manual | discarded
    note              TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
-- The processor's query: due pending rows in order, without scanning others.
CREATE INDEX dlq_due_idx ON dlq (next_attempt_at) WHERE status = 'pending';
CREATE INDEX dlq_record_idx ON dlq (tenant, resource, record_id);
CREATE INDEX dlq_status_idx ON dlq (status, tenant);

-- Every attempt and every action a person took on a dead letter.
CREATE TABLE dlq_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dlq_id      INTEGER NOT NULL REFERENCES dlq (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,           -- 'daemon' or the Unix user of a CLI action
    action      TEXT NOT NULL,           -- created | attempt | escalated | resolved | retry | discarded ...
    error_class TEXT,
    http_status INTEGER,
    note        TEXT
);
CREATE INDEX dlq_events_dlq_idx ON dlq_events (dlq_id);

-- hold mode: records that failed in a scan, retried by following scans;
-- attempts counts scans, and the checkpoint stays before the oldest one.
CREATE TABLE holds (
    tenant            TEXT NOT NULL,
    resource          TEXT NOT NULL,
    record_id         TEXT NOT NULL,
    record_updated_at TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 1,
    error_class       TEXT NOT NULL,
    http_status       INTEGER,
    last_error        TEXT,
    first_failed_at   TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    PRIMARY KEY (tenant, resource, record_id)
);

-- One row per finished scan: what an operator reads first when a resource
-- looks stale.
CREATE TABLE scans (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT NOT NULL,
    resource     TEXT NOT NULL,
    trace_id     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('incremental', 'full')),
    started_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL,
    status       TEXT NOT NULL,          -- complete | incomplete | failed
    pages        INTEGER NOT NULL DEFAULT 0,
    records      INTEGER NOT NULL DEFAULT 0, -- distinct records seen
    applied      INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    deleted      INTEGER NOT NULL DEFAULT 0,
    detail       TEXT
);
CREATE INDEX scans_tenant_idx ON scans (tenant, resource, id);

-- Runtime state the running daemon publishes for `vomo-sync status`.
CREATE TABLE tenant_state (
    tenant     TEXT PRIMARY KEY,
    status     TEXT NOT NULL,            -- ok | auth_failed | destination_paused | stopped
    reason     TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE breakers (
    name       TEXT PRIMARY KEY,         -- 'vomo' or 'destination:<tenant>'
    state      TEXT NOT NULL,            -- closed | open | half_open
    failures   INTEGER NOT NULL DEFAULT 0,
    reason     TEXT,
    opened_at  TEXT,
    updated_at TEXT NOT NULL
);

-- Views an operator wants first.
CREATE VIEW dlq_summary AS
    SELECT tenant, status, error_class, count(*) AS rows,
           min(created_at) AS oldest_created_at
    FROM dlq GROUP BY tenant, status, error_class;

CREATE VIEW dlq_due AS
    SELECT id, tenant, resource, record_id, error_class, attempts, next_attempt_at
    FROM dlq
    WHERE status = 'pending'
      AND next_attempt_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    ORDER BY next_attempt_at;

CREATE VIEW dlq_manual_review AS
    SELECT id, tenant, resource, record_id, error_class, http_status, attempts,
           last_error, updated_at
    FROM dlq WHERE status = 'manual_review' ORDER BY updated_at;

CREATE VIEW record_counts AS
    SELECT tenant, resource,
           sum(deleted_at IS NULL) AS live,
           sum(deleted_at IS NOT NULL) AS deleted,
           max(updated_at) AS newest_updated_at
    FROM records GROUP BY tenant, resource;

CREATE VIEW last_scans AS
    SELECT s.* FROM scans s
    WHERE s.id = (SELECT max(id) FROM scans t
                  WHERE t.tenant = s.tenant AND t.resource = s.resource);
