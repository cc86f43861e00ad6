-- 0005_reconcile_blocks: a reconciliation (full scan) that finds more
-- records missing from VOMO than it may delete at once
-- (poll.reconcile_max_deletes, or a tenth of the records held) deletes
-- nothing: that is more likely a VOMO fault or a wrong token than an
-- organization that deleted so much.  It leaves one row here for a person
-- (`vomo-sync status` shows it); the next reconciliation within the bound
-- removes it.  A person who finds the deletions real runs `vomo-sync
-- reconcile allow TENANT RESOURCE`: the next reconciliation may then delete
-- up to `candidates` records (each still confirmed by a 404).
CREATE TABLE reconcile_blocks (
    tenant      TEXT NOT NULL,
    resource    TEXT NOT NULL,
    candidates  INTEGER NOT NULL,        -- live records the full scan did not list
    held        INTEGER NOT NULL,        -- live records held at the time
    max_deletes INTEGER NOT NULL,        -- poll.reconcile_max_deletes then
    trace_id    TEXT,                    -- of the last scan that refused
    first_at    TEXT NOT NULL,           -- when a reconciliation first refused
    updated_at  TEXT NOT NULL,           -- the last one
    allowed_by  TEXT,                    -- the Unix user who allowed it, NULL until then
    allowed_at  TEXT,
    PRIMARY KEY (tenant, resource)
);
