-- 0008_alerts: what the built-in alerts and error budgets need (alerts.c).
--
-- history: counts per time bucket (one minute by default, [alerts]
-- resolution) per (series, tenant, resource): VOMO 5xx and timeouts,
-- failures per error class, operations and their errors for the SLI, DLQ
-- size samples.  One indexed table: the primary key is the index every
-- query of the evaluator uses (a series, a range of buckets).  `at` is the
-- start of the bucket.  Rows older than 8 days are deleted by the daemon.
-- tenant is '' for a count over the whole daemon, resource '' when the
-- count is not about one resource.
CREATE TABLE history (
    series   TEXT NOT NULL,
    at       TEXT NOT NULL,
    tenant   TEXT NOT NULL,
    resource TEXT NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (series, at, tenant, resource)
) WITHOUT ROWID;

-- The same counts rolled up per hour (60 buckets), for the error budget's
-- window ([slo] window, 30 days by default), which outlasts the minutes.
-- Rows older than the window are deleted by the daemon.
CREATE TABLE history_hourly (
    series   TEXT NOT NULL,
    at       TEXT NOT NULL,
    tenant   TEXT NOT NULL,
    resource TEXT NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (series, at, tenant, resource)
) WITHOUT ROWID;

-- One row per episode of a built-in alert: inserted when it fires, the
-- same row is resolved when it ends.  tenant is '' for an alert over the
-- whole daemon; resource '' unless the alert names one.
CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT NOT NULL,
    tenant           TEXT NOT NULL DEFAULT '',
    resource         TEXT NOT NULL DEFAULT '',
    severity         TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
    state            TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
    started_at       TEXT NOT NULL,
    resolved_at      TEXT,
    summary          TEXT NOT NULL,
    last_notified_at TEXT
);
CREATE INDEX alerts_firing_idx ON alerts (name, tenant, resource) WHERE state = 'firing';
CREATE INDEX alerts_started_idx ON alerts (started_at);

CREATE VIEW alerts_firing AS
    SELECT id, name, tenant, resource, severity, started_at, summary
    FROM alerts WHERE state = 'firing' ORDER BY started_at, id;

-- `vomo-sync resume TENANT`: an operator's request that a tenant whose
-- writes the error budget paused sends them again.  The running daemon's
-- evaluator reads it on its next tick and forgets the pause until the
-- budget is exhausted anew (a later requested_at than the pause).
CREATE TABLE slo_resumes (
    tenant       TEXT PRIMARY KEY,
    requested_at TEXT NOT NULL,
    requested_by TEXT NOT NULL
);

-- What the running daemon's evaluator found at its last tick, for
-- `vomo-sync status` (another process): per tenant the error budget over
-- [slo] window (consumed share, remaining ratio, burn rates over the
-- windows of the multi-window alerts, freshness) and the action in force.
CREATE TABLE slo_status (
    tenant          TEXT PRIMARY KEY,
    target          REAL NOT NULL,
    operations      INTEGER NOT NULL,
    errors          INTEGER NOT NULL,
    consumed        REAL NOT NULL,       -- 1.0 = the whole budget of the window
    remaining_ratio REAL NOT NULL,
    burn_5m         REAL NOT NULL,
    burn_30m        REAL NOT NULL,
    burn_1h         REAL NOT NULL,
    burn_6h         REAL NOT NULL,
    burn_3d         REAL NOT NULL,
    freshness       REAL,                -- share of fresh minutes; NULL before the first
    action          TEXT NOT NULL,       -- none | debug_logging | writes_paused
    updated_at      TEXT NOT NULL
);

-- Notes of the evaluator an operator should see beside the alerts (e.g.
-- ErrorClassSpike has no history yet), one per alert name.
CREATE TABLE alert_notes (
    name       TEXT PRIMARY KEY,
    note       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
