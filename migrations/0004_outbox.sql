-- 0004_outbox: writes to VOMO.  A program (or `vomo-sync write`) adds a
-- 'pending' row; the daemon sends it through the tenant's lane and records
-- what became of it.  VOMO has no idempotency keys, so a write whose outcome
-- is not known ('unknown': the response was lost, a timeout after sending, a
-- crash while 'in_flight') is never sent again blindly when that could
-- duplicate it: a create is first searched for in VOMO and adopted.
-- Rows are never evicted; `vomo-sync outbox purge --done` deletes old ones.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant           TEXT NOT NULL,
    resource         TEXT NOT NULL,      -- users | groups | projects
    op               TEXT NOT NULL,      -- upsert | create | update | delete | set_members
    target_id        TEXT,               -- the VOMO id for update, delete, set_members
    payload          TEXT,               -- the JSON body to send (delete: may be NULL)
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'in_flight', 'unknown', 'done',
                                      'manual_review', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0, -- requests sent (or searches made) for it
    next_attempt_at  TEXT,               -- NULL = due now
    remote_id        TEXT,               -- the VOMO id once done (created or adopted)
    last_http_status INTEGER,
    last_error       TEXT,               -- for 422: VOMO's field errors
    error_class      TEXT,
    op_key           TEXT,               -- optional caller key: one row per key and tenant
    record_key       TEXT,               -- set by the daemon once the row is validated
    maybe_applied    INTEGER NOT NULL DEFAULT 0, -- 1 once any send may have reached VOMO
    first_sent_at    TEXT,               -- when the first request left (search window)
    last_sent_at     TEXT,
    resolution       TEXT,               -- sent | adopted | gone | cancelled | resolved
    note             TEXT,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
-- A caller re-submitting the same intent (same op_key) gets the existing row.
CREATE UNIQUE INDEX outbox_op_key_idx ON outbox (tenant, op_key) WHERE op_key IS NOT NULL;
-- The processor's per-tenant query: open rows in creation order.
CREATE INDEX outbox_due_idx ON outbox (tenant, id) WHERE state IN ('pending', 'unknown');
-- One record's writes go in order: is an earlier write of it still open?
CREATE INDEX outbox_record_idx ON outbox (tenant, record_key, id)
    WHERE state IN ('pending', 'in_flight', 'unknown');
-- Rows a program inserted that the daemon has not validated yet.
CREATE INDEX outbox_unvalidated_idx ON outbox (id) WHERE record_key IS NULL;
-- Ids already taken by a write, so an adoption never claims another's record.
CREATE INDEX outbox_remote_idx ON outbox (tenant, resource, remote_id)
    WHERE remote_id IS NOT NULL;
CREATE INDEX outbox_state_idx ON outbox (state, tenant);

-- Every attempt, outcome and action a person took on a write.
CREATE TABLE outbox_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id   INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,           -- 'daemon' or the Unix user of a CLI action
    action      TEXT NOT NULL,           -- created | sent | done | adopted | unknown | failed | escalated | retry | cancelled
    error_class TEXT,
    http_status INTEGER,
    note        TEXT
);
CREATE INDEX outbox_events_outbox_idx ON outbox_events (outbox_id);

-- Failed writes join failed reads in one manual-review queue: a write that
-- needs a person gets a dlq row of kind 'write' naming its outbox row.  Such
-- a row never has a next_attempt_at (the outbox row holds the schedule), so
-- the DLQ processor's due query never picks it.
ALTER TABLE dlq ADD COLUMN kind TEXT NOT NULL DEFAULT 'read' CHECK (kind IN ('read', 'write'));
ALTER TABLE dlq ADD COLUMN outbox_id INTEGER;
CREATE INDEX dlq_outbox_idx ON dlq (outbox_id) WHERE outbox_id IS NOT NULL;

CREATE VIEW outbox_summary AS
    SELECT tenant, resource, op, state, count(*) AS rows, min(created_at) AS oldest_created_at
    FROM outbox GROUP BY tenant, resource, op, state;
