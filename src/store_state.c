/*
 * store_state.c - the smaller tables: `holds` (hold checkpoint mode: failed
 * records counted per scan), `reconcile_blocks` (reconciliations that
 * would have deleted too much and wait for a person), and the runtime state the daemon publishes
 * for `vomo-sync status`: `tenant_state`, `breakers` and one `scans` row per finished scan.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_priv.h"

static void bind_key3(sqlite3_stmt *st, const char *tenant, const char *resource,
                      const char *record_id)
{
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, resource);
    store_bind_text(st, 3, record_id);
}

static int hold_attempts(struct store *s, const char *tenant, const char *resource,
                         const char *record_id, int *attempts)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_HOLD_ATTEMPTS,
                                  "SELECT attempts FROM holds WHERE tenant = ?1 AND "
                                  "resource = ?2 AND record_id = ?3",
                                  &rc);
    if (!st)
        return rc;
    bind_key3(st, tenant, resource, record_id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *attempts = sqlite3_column_int(st, 0);
    store_done(st);
    if (r == SQLITE_DONE)
        return -ENOENT;
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "reading a hold");
}

/*
 * A newer version of a held record replaces the held version but keeps the
 * count: the count is what lets one poison record stop stalling a tenant.
 */
int store_hold_fail(struct store *s, const char *tenant, const char *resource,
                    const char *record_id, const char *record_updated_at, const char *error_class,
                    int http_status, const char *last_error, const char *now, int *attempts)
{
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st =
        store_stmt(s, STMT_HOLD_FAIL,
                   "INSERT INTO holds (tenant, resource, record_id, record_updated_at, attempts, "
                   "  error_class, http_status, last_error, first_failed_at, updated_at) "
                   "VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?8) "
                   "ON CONFLICT (tenant, resource, record_id) DO UPDATE SET "
                   "  record_updated_at = ?4, attempts = attempts + 1, error_class = ?5, "
                   "  http_status = ?6, last_error = ?7, updated_at = ?8",
                   &rc);
    if (st) {
        bind_key3(st, tenant, resource, record_id);
        store_bind_text(st, 4, record_updated_at);
        store_bind_text(st, 5, error_class);
        if (http_status > 0)
            sqlite3_bind_int(st, 6, http_status);
        store_bind_text(st, 7, last_error);
        store_bind_text(st, 8, now);
        rc = store_exec_stmt(s, st, "recording a held record");
    }
    int n = 0;
    if (rc == 0)
        rc = hold_attempts(s, tenant, resource, record_id, &n);
    rc = store_unit_end(s, rc);
    if (rc == 0 && attempts)
        *attempts = n;
    return rc;
}

int store_hold_clear(struct store *s, const char *tenant, const char *resource,
                     const char *record_id)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_HOLD_CLEAR,
                                  "DELETE FROM holds WHERE tenant = ?1 AND resource = ?2 AND "
                                  "record_id = ?3",
                                  &rc);
    if (!st)
        return rc;
    bind_key3(st, tenant, resource, record_id);
    return store_exec_stmt(s, st, "clearing a hold");
}

int store_hold_release(struct store *s, const char *tenant, const char *resource,
                       const char *record_id, const char *upto)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_HOLD_RELEASE,
                                  "DELETE FROM holds WHERE tenant = ?1 AND resource = ?2 AND "
                                  "record_id = ?3 AND (?4 IS NULL OR record_updated_at <= ?4)",
                                  &rc);
    if (!st)
        return rc;
    bind_key3(st, tenant, resource, record_id);
    store_bind_text(st, 4, upto);
    return store_exec_stmt(s, st, "ending a hold");
}

int store_hold_oldest(struct store *s, const char *tenant, const char *resource,
                      char version[TS_LEN])
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_HOLD_OLDEST,
                                  "SELECT min(record_updated_at) FROM holds WHERE tenant = ?1 "
                                  "AND resource = ?2",
                                  &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, resource);
    int r = sqlite3_step(st);
    int found = r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    if (found)
        store_col_ts(st, 0, version);
    store_done(st);
    if (r != SQLITE_ROW)
        return store_fail(s, r, "reading holds");
    return found ? 0 : -ENOENT;
}

int store_hold_each(struct store *s, const char *tenant, const char *resource,
                    int (*cb)(const char *id, void *arg), void *arg)
{
    int rc = 0, r;
    sqlite3_stmt *st = store_stmt(s, STMT_HOLD_EACH,
                                  "SELECT record_id FROM holds WHERE tenant = ?1 AND "
                                  "resource = ?2 ORDER BY record_id",
                                  &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, resource);
    char **ids = NULL;
    size_t n = 0, cap = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            ids = xrealloc(ids, cap * sizeof(*ids));
        }
        ids[n++] = store_col_dup(st, 0);
    }
    store_done(st);
    if (r != SQLITE_DONE)
        rc = store_fail(s, r, "listing held records");
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && ids[i] && cb(ids[i], arg) != 0)
            rc = 1;
        free(ids[i]);
    }
    free(ids);
    return rc < 0 ? rc : 0;
}

int store_reconcile_block_set(struct store *s, const char *tenant, const char *resource,
                              int64_t candidates, int64_t held, int64_t max_deletes,
                              const char *trace_id, const char *now)
{
    int rc = 0;
    sqlite3_stmt *st =
        store_stmt(s, STMT_RECON_BLOCK_SET,
                   "INSERT INTO reconcile_blocks (tenant, resource, candidates, held, max_deletes, "
                   "  trace_id, first_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
                   "ON CONFLICT (tenant, resource) DO UPDATE SET candidates = ?3, held = ?4, "
                   "  max_deletes = ?5, trace_id = ?6, updated_at = ?7, allowed_by = NULL, "
                   "  allowed_at = NULL",
                   &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, resource);
    sqlite3_bind_int64(st, 3, candidates);
    sqlite3_bind_int64(st, 4, held);
    sqlite3_bind_int64(st, 5, max_deletes);
    store_bind_text(st, 6, trace_id);
    store_bind_text(st, 7, now);
    return store_exec_stmt(s, st, "recording a refused reconciliation");
}

int store_reconcile_allow(struct store *s, const char *tenant, const char *resource,
                          const char *actor, const char *now)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_RECON_ALLOW,
                                  "UPDATE reconcile_blocks SET allowed_by = ?3, allowed_at = ?4 "
                                  "WHERE tenant = ?1 AND resource = ?2",
                                  &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, resource);
    store_bind_text(st, 3, actor);
    store_bind_text(st, 4, now);
    rc = store_exec_stmt(s, st, "allowing refused deletions");
    if (rc == 0 && sqlite3_changes(s->db) == 0) {
        snprintf(s->errmsg, sizeof(s->errmsg), "no reconciliation of %s/%s is waiting for a person",
                 tenant, resource);
        rc = -ENOENT;
    }
    return rc;
}

int store_reconcile_allowed(struct store *s, const char *tenant, const char *resource,
                            int64_t *allowed)
{
    int rc = 0;
    *allowed = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_RECON_ALLOWED,
                                  "SELECT candidates FROM reconcile_blocks WHERE tenant = ?1 "
                                  "AND resource = ?2 AND allowed_at IS NOT NULL",
                                  &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, resource);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *allowed = sqlite3_column_int64(st, 0);
    store_done(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : store_fail(s, r, "reading refused deletions");
}

int store_reconcile_block_clear(struct store *s, const char *tenant, const char *resource)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_RECON_BLOCK_CLEAR,
                                  "DELETE FROM reconcile_blocks WHERE tenant = ?1 AND "
                                  "resource = ?2",
                                  &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, resource);
    return store_exec_stmt(s, st, "clearing a refused reconciliation");
}

int store_tenant_state_set(struct store *s, const char *tenant, const char *status,
                           const char *reason, const char *now)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_TENANT_STATE,
                                  "INSERT INTO tenant_state (tenant, status, reason, updated_at) "
                                  "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant) DO UPDATE SET "
                                  "status = ?2, reason = ?3, updated_at = ?4",
                                  &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, status);
    store_bind_text(st, 3, reason);
    store_bind_text(st, 4, now);
    return store_exec_stmt(s, st, "saving a tenant state");
}

/* opened_at is when the breaker last went from not-open to open; it is kept
 * while the breaker stays open or probes (half_open), cleared when closed. */
int store_breaker_set(struct store *s, const char *name, const char *state, int failures,
                      const char *reason, const char *now)
{
    int rc = 0;
    sqlite3_stmt *st =
        store_stmt(s, STMT_BREAKER,
                   "INSERT INTO breakers (name, state, failures, reason, opened_at, updated_at) "
                   "VALUES (?1, ?2, ?3, ?4, CASE WHEN ?2 = 'open' THEN ?5 END, ?5) "
                   "ON CONFLICT (name) DO UPDATE SET state = ?2, failures = ?3, reason = ?4, "
                   "  opened_at = CASE WHEN ?2 = 'open' AND state = 'open' THEN opened_at "
                   "                   WHEN ?2 = 'open' THEN ?5 "
                   "                   WHEN ?2 = 'half_open' THEN opened_at END, "
                   "  updated_at = ?5",
                   &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, name);
    store_bind_text(st, 2, state);
    sqlite3_bind_int(st, 3, failures);
    store_bind_text(st, 4, reason);
    store_bind_text(st, 5, now);
    return store_exec_stmt(s, st, "saving a breaker state");
}

int store_scan_insert(struct store *s, const struct scan_summary *sum)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(
        s, STMT_SCAN,
        "INSERT INTO scans (tenant, resource, trace_id, kind, started_at, finished_at, status, "
        "  pages, records, applied, skipped, failed, deleted, detail) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, sum->tenant);
    store_bind_text(st, 2, sum->resource);
    store_bind_text(st, 3, sum->trace_id ? sum->trace_id : "");
    store_bind_text(st, 4, sum->kind ? sum->kind : "incremental");
    store_bind_text(st, 5, sum->started_at);
    store_bind_text(st, 6, sum->finished_at);
    store_bind_text(st, 7, sum->status);
    sqlite3_bind_int64(st, 8, sum->pages);
    sqlite3_bind_int64(st, 9, sum->records);
    sqlite3_bind_int64(st, 10, sum->applied);
    sqlite3_bind_int64(st, 11, sum->skipped);
    sqlite3_bind_int64(st, 12, sum->failed);
    sqlite3_bind_int64(st, 13, sum->deleted);
    store_bind_text(st, 14, sum->detail);
    rc = store_exec_stmt(s, st, "recording a scan");
    if (rc < 0 || sum->defer_prune)
        return rc;
    /* The history keeps the newest STORE_SCANS_KEPT scans of each
     * (tenant, resource); older rows go as new ones come (index range). */
    st = store_stmt(s, STMT_SCAN_PRUNE,
                    "DELETE FROM scans WHERE tenant = ?1 AND resource = ?2 AND id <= "
                    "(SELECT id FROM scans WHERE tenant = ?1 AND resource = ?2 "
                    " ORDER BY id DESC LIMIT 1 OFFSET ?3)",
                    &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, sum->tenant);
    store_bind_text(st, 2, sum->resource);
    sqlite3_bind_int(st, 3, STORE_SCANS_KEPT);
    return store_exec_stmt(s, st, "pruning the scan history");
}
