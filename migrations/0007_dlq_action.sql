-- 0005_dlq_action: a dead letter is either a record version to upsert or a
-- deletion to tell the destination about.  A failed deletion is
-- dead-lettered like an upsert; its record_updated_at is the deletion time
-- (records.deleted_at), which is also what its Idempotency-Key names, so a
-- re-sent deletion keeps its key across retries and restarts.  The DLQ
-- processor sends a 'delete' row again as a deletion instead of re-reading
-- the record from VOMO.
ALTER TABLE dlq ADD COLUMN action TEXT NOT NULL DEFAULT 'upsert'
    CHECK (action IN ('upsert', 'delete'));
