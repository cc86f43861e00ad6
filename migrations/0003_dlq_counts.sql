-- 0003_dlq_counts: what the metrics endpoint reads at every scrape without
-- counting a large DLQ row by row.  dlq_counts holds the number of dead
-- letters per (tenant, status), kept exact by triggers in the same
-- transaction as the change; an operator may read it like a view, never
-- write it.  The partial index finds each tenant's oldest pending row with
-- one index seek.
CREATE TABLE dlq_counts (
    tenant TEXT NOT NULL,
    status TEXT NOT NULL,
    rows   INTEGER NOT NULL,
    PRIMARY KEY (tenant, status)
) WITHOUT ROWID;

INSERT INTO dlq_counts (tenant, status, rows)
    SELECT tenant, status, count(*) FROM dlq GROUP BY tenant, status;

CREATE TRIGGER dlq_counts_insert AFTER INSERT ON dlq
BEGIN
    INSERT INTO dlq_counts (tenant, status, rows) VALUES (NEW.tenant, NEW.status, 1)
        ON CONFLICT (tenant, status) DO UPDATE SET rows = rows + 1;
END;

CREATE TRIGGER dlq_counts_delete AFTER DELETE ON dlq
BEGIN
    UPDATE dlq_counts SET rows = rows - 1 WHERE tenant = OLD.tenant AND status = OLD.status;
END;

CREATE TRIGGER dlq_counts_update AFTER UPDATE OF tenant, status ON dlq
    WHEN OLD.tenant IS NOT NEW.tenant OR OLD.status IS NOT NEW.status
BEGIN
    UPDATE dlq_counts SET rows = rows - 1 WHERE tenant = OLD.tenant AND status = OLD.status;
    INSERT INTO dlq_counts (tenant, status, rows) VALUES (NEW.tenant, NEW.status, 1)
        ON CONFLICT (tenant, status) DO UPDATE SET rows = rows + 1;
END;

CREATE INDEX dlq_pending_age_idx ON dlq (tenant, created_at) WHERE status = 'pending';
