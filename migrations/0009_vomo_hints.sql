-- 0009_vomo_hints: VOMO's own webhooks (POST /hooks/vomo/TENANT), each
-- verified event recorded before it is answered 202, then worked off by the
-- hint processor: a read of the record it names, or an early incremental
-- scan of its resource.  A hint only hastens work: it never moves a
-- checkpoint, and a lost one costs only latency (polling stays the truth).
-- event_key dedupes replays: "id:" and the event's own id, or "sha256:"
-- and the hash of the raw body when the event has no id.  Processed rows
-- are kept for a week (and at most 100000 rows), for `status` and people.
CREATE TABLE vomo_hints (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT NOT NULL,
    event_key    TEXT NOT NULL,
    type         TEXT NOT NULL,          -- as VOMO sent it, e.g. project.updated
    resource     TEXT,                   -- users, groups, projects; NULL when not one we sync
    record_id    TEXT,                   -- data.id, NULL when the event names none
    organization_id TEXT,                -- as VOMO sent it, NULL when absent
    received_at  TEXT NOT NULL,
    replays      INTEGER NOT NULL DEFAULT 0, -- the same event received again
    outcome      TEXT NOT NULL DEFAULT 'pending'
        CHECK (outcome IN ('pending', 'applied', 'skipped', 'deleted', 'gone', 'failed',
                           'unreachable', 'scanned', 'ignored', 'expired')),
    processed_at TEXT,
    UNIQUE (tenant, event_key)
);
CREATE INDEX vomo_hints_pending_idx ON vomo_hints (id) WHERE outcome = 'pending';
CREATE INDEX vomo_hints_received_idx ON vomo_hints (received_at);
