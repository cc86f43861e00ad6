-- 0002_dlq_tenant_due_index: the DLQ processor takes each tenant's due rows
-- separately, so a tenant whose destination is down cannot hold the oldest
-- due rows of the whole queue and starve the others.
CREATE INDEX dlq_tenant_due_idx ON dlq (tenant, next_attempt_at) WHERE status = 'pending';
