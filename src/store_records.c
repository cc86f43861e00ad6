/*
 * store_records.c - the two tables a scan reads and writes for every page:
 * `checkpoints` (where each tenant/resource scan resumes) and `records`
 * (what each destination holds: version, content hash, deletion), which the
 * skip rule and reconciliation consult.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_priv.h"

static int bind_key(sqlite3_stmt *st, const char *tenant, const char *resource)
{
    int r = store_bind_text(st, 1, tenant);
    if (r == SQLITE_OK)
        r = store_bind_text(st, 2, resource);
    return r;
}

int store_checkpoint_get(struct store *s, const char *tenant, const char *resource,
                         struct checkpoint *out)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_CKPT_GET,
                                  "SELECT updated_after, last_scan_at, last_full_scan_at "
                                  "FROM checkpoints WHERE tenant = ?1 AND resource = ?2",
                                  &rc);
    if (!st)
        return rc;
    bind_key(st, tenant, resource);
    int r = sqlite3_step(st);
    snprintf(out->updated_after, TS_LEN, "%s", TS_EPOCH);
    out->last_scan_at[0] = out->last_full_scan_at[0] = '\0';
    if (r == SQLITE_ROW) {
        store_col_ts(st, 0, out->updated_after);
        store_col_ts(st, 1, out->last_scan_at);
        store_col_ts(st, 2, out->last_full_scan_at);
    }
    store_done(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return store_fail(s, r, "reading a checkpoint");
    return 0;
}

int store_checkpoint_set(struct store *s, const char *tenant, const char *resource,
                         const char *updated_after, const char *scan_at, const char *scan_status,
                         int full_scan_complete)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(
        s, STMT_CKPT_SET,
        "INSERT INTO checkpoints (tenant, resource, updated_after, last_scan_at, "
        "  last_scan_status, last_full_scan_at, updated_at) "
        "VALUES (?1, ?2, coalesce(?3, '" TS_EPOCH "'), ?4, ?5, CASE WHEN ?6 THEN ?4 END, ?4) "
        "ON CONFLICT (tenant, resource) DO UPDATE SET "
        "  updated_after = coalesce(?3, updated_after), last_scan_at = ?4, "
        "  last_scan_status = ?5, "
        "  last_full_scan_at = CASE WHEN ?6 THEN ?4 ELSE last_full_scan_at END, "
        "  updated_at = ?4",
        &rc);
    if (!st)
        return rc;
    bind_key(st, tenant, resource);
    store_bind_opt_text(st, 3, updated_after);
    store_bind_text(st, 4, scan_at);
    store_bind_text(st, 5, scan_status);
    sqlite3_bind_int(st, 6, full_scan_complete != 0);
    return store_exec_stmt(s, st, "saving a checkpoint");
}

/*
 * The operator's rewind: only updated_after changes, the scan history stays.
 * *old gets the value it had (the epoch when there was no row).
 */
int store_checkpoint_reset(struct store *s, const char *tenant, const char *resource,
                           const char *updated_after, const char *now, char old[TS_LEN])
{
    struct checkpoint cp;
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    rc = store_checkpoint_get(s, tenant, resource, &cp);
    sqlite3_stmt *st = NULL;
    if (rc == 0)
        st = store_stmt(s, STMT_CKPT_RESET,
                        "INSERT INTO checkpoints (tenant, resource, updated_after, updated_at) "
                        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant, resource) DO UPDATE SET "
                        "updated_after = ?3, updated_at = ?4",
                        &rc);
    if (st) {
        bind_key(st, tenant, resource);
        store_bind_text(st, 3, updated_after);
        store_bind_text(st, 4, now);
        rc = store_exec_stmt(s, st, "resetting a checkpoint");
    }
    rc = store_unit_end(s, rc);
    if (rc == 0 && old)
        snprintf(old, TS_LEN, "%s", cp.updated_after);
    return rc;
}

int store_record_get(struct store *s, const char *tenant, const char *resource, const char *id,
                     struct record_state *out)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_REC_GET,
                                  "SELECT updated_at, hash, deleted_at IS NOT NULL FROM records "
                                  "WHERE tenant = ?1 AND resource = ?2 AND id = ?3",
                                  &rc);
    if (!st)
        return rc;
    bind_key(st, tenant, resource);
    store_bind_text(st, 3, id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const unsigned char *h = sqlite3_column_text(st, 1);
        store_col_ts(st, 0, out->updated_at);
        snprintf(out->hash, HASH_HEX_LEN, "%s", h ? (const char *)h : "");
        out->deleted = sqlite3_column_int(st, 2);
    }
    store_done(st);
    if (r == SQLITE_DONE)
        return -ENOENT;
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "reading a record");
}

int store_record_put(struct store *s, const char *tenant, const char *resource, const char *id,
                     const char *updated_at, const char *payload, const char *hash, const char *now)
{
    int rc = 0;
    sqlite3_stmt *st =
        store_stmt(s, STMT_REC_PUT,
                   "INSERT INTO records (tenant, resource, id, updated_at, payload, hash, "
                   "  deleted_at, synced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7) "
                   "ON CONFLICT (tenant, resource, id) DO UPDATE SET updated_at = ?4, "
                   "  payload = ?5, hash = ?6, deleted_at = NULL, synced_at = ?7 "
                   "WHERE ?4 >= records.updated_at",
                   &rc);
    if (!st)
        return rc;
    bind_key(st, tenant, resource);
    store_bind_text(st, 3, id);
    store_bind_text(st, 4, updated_at);
    store_bind_text(st, 5, payload);
    store_bind_text(st, 6, hash);
    store_bind_text(st, 7, now);
    return store_exec_stmt(s, st, "saving a record");
}

/* Idempotent: a record already marked keeps its first deletion time. */
int store_record_mark_deleted(struct store *s, const char *tenant, const char *resource,
                              const char *id, const char *deleted_at)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_REC_DELETE,
                                  "UPDATE records SET deleted_at = coalesce(deleted_at, ?4) "
                                  "WHERE tenant = ?1 AND resource = ?2 AND id = ?3",
                                  &rc);
    if (!st)
        return rc;
    bind_key(st, tenant, resource);
    store_bind_text(st, 3, id);
    store_bind_text(st, 4, deleted_at);
    rc = store_exec_stmt(s, st, "marking a record deleted");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        return -ENOENT;
    return rc;
}

/*
 * The ids are collected first and the callback runs afterwards, so that it
 * may change the records table (reconciliation marks deletions) without
 * disturbing the query, and is never called when the query fails.
 */
int store_record_each_live(struct store *s, const char *tenant, const char *resource,
                           int (*cb)(const char *id, void *arg), void *arg)
{
    int rc = 0, r;
    sqlite3_stmt *st = store_stmt(s, STMT_REC_LIVE,
                                  "SELECT id FROM records WHERE tenant = ?1 AND resource = ?2 "
                                  "AND deleted_at IS NULL ORDER BY id",
                                  &rc);
    if (!st)
        return rc;
    bind_key(st, tenant, resource);
    char **ids = NULL;
    size_t n = 0, cap = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            ids = xrealloc(ids, cap * sizeof(*ids));
        }
        ids[n++] = store_col_dup(st, 0);
    }
    store_done(st);
    if (r != SQLITE_DONE)
        rc = store_fail(s, r, "listing records");
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && ids[i] && cb(ids[i], arg) != 0)
            rc = 1;
        free(ids[i]);
    }
    free(ids);
    return rc < 0 ? rc : 0;
}

int store_record_count(struct store *s, const char *tenant, const char *resource, int64_t *live)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_REC_COUNT,
                                  "SELECT count(*) FROM records WHERE tenant = ?1 AND "
                                  "resource = ?2 AND deleted_at IS NULL",
                                  &rc);
    if (!st)
        return rc;
    bind_key(st, tenant, resource);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *live = sqlite3_column_int64(st, 0);
    store_done(st);
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "counting records");
}
