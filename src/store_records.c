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

/* Every statement of this file ends with store_done() (store_exec_stmt)
 * before its function returns: its text needs no copy. */
static int bind_key(sqlite3_stmt *st, const char *tenant, const char *resource)
{
    int r = store_bind_ref(st, 1, tenant);
    if (r == SQLITE_OK)
        r = store_bind_ref(st, 2, resource);
    return r;
}

int store_checkpoint_get(struct store *s, const char *tenant, const char *resource,
                         struct checkpoint *out)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_CKPT_GET,
                                  "SELECT updated_after, last_scan_at, last_full_scan_at, resets "
                                  "FROM checkpoints WHERE tenant = ?1 AND resource = ?2",
                                  &rc);
    if (!st)
        return rc;
    bind_key(st, tenant, resource);
    int r = sqlite3_step(st);
    snprintf(out->updated_after, TS_LEN, "%s", TS_EPOCH);
    out->last_scan_at[0] = out->last_full_scan_at[0] = '\0';
    out->resets = 0;
    if (r == SQLITE_ROW) {
        store_col_ts(st, 0, out->updated_after);
        store_col_ts(st, 1, out->last_scan_at);
        store_col_ts(st, 2, out->last_full_scan_at);
        out->resets = sqlite3_column_int64(st, 3);
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

int store_checkpoint_set_if(struct store *s, const char *tenant, const char *resource,
                            const char *updated_after, int64_t resets, const char *scan_at,
                            const char *scan_status, int full_scan_complete, int *dropped)
{
    struct checkpoint cp;
    *dropped = 0;
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    rc = store_checkpoint_get(s, tenant, resource, &cp);
    if (rc == 0 && updated_after && cp.resets != resets) {
        *dropped = 1;
        updated_after = NULL; /* a person reset it during the scan: theirs stands */
    }
    if (rc == 0)
        rc = store_checkpoint_set(s, tenant, resource, updated_after, scan_at, scan_status,
                                  full_scan_complete);
    rc = store_unit_end(s, rc);
    if (rc < 0)
        *dropped = 0;
    return rc;
}

/*
 * The operator's rewind: only updated_after changes (and the count of
 * resets, which tells a scan that was running that the checkpoint is no
 * longer its to move), the scan history stays.  *old gets the value it had
 * (the epoch when there was no row).
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
                        "INSERT INTO checkpoints (tenant, resource, updated_after, updated_at, "
                        "  resets) VALUES (?1, ?2, ?3, ?4, 1) "
                        "ON CONFLICT (tenant, resource) DO UPDATE SET "
                        "updated_after = ?3, updated_at = ?4, resets = resets + 1",
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
                                  "SELECT updated_at, hash, deleted_at IS NOT NULL, deleted_at "
                                  "FROM records "
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
        store_col_ts(st, 3, out->deleted_at);
    }
    store_done(st);
    if (r == SQLITE_DONE)
        return -ENOENT;
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "reading a record");
}

/* "?3, ?4, ..." for the STORE_LOOKUP_BATCH ids of the batched records query. */
#define LOOKUP_IDS "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18"

static void lookup_fill(sqlite3_stmt *st, struct record_lookup *l)
{
    l->found = 1;
    store_col_ts(st, 1, l->rec.updated_at);
    store_col_copy(st, 2, l->rec.hash, HASH_HEX_LEN);
    l->rec.deleted = sqlite3_column_int(st, 3);
    int cmp = strcmp(l->rec.updated_at, l->updated_at);
    l->unchanged = !l->rec.deleted && (cmp > 0 || (cmp == 0 && strcmp(l->rec.hash, l->hash) == 0));
}

/* The records rows of up to STORE_LOOKUP_BATCH lookups, in one query; an
 * id may appear more than once in a page, and each lookup of it is filled. */
static int lookup_records(struct store *s, sqlite3_stmt *st, struct record_lookup *l, size_t n)
{
    int r;
    for (size_t i = 0; i < STORE_LOOKUP_BATCH; i++)
        store_bind_ref(st, (int)i + 3, i < n ? l[i].id : NULL);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        for (size_t i = 0; id && i < n; i++)
            if (strcmp(l[i].id, id) == 0)
                lookup_fill(st, &l[i]);
    }
    sqlite3_reset(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "looking up a page's records");
}

/* Whether the DLQ holds any row of (tenant, resource): 1, 0 or an error. */
static int dlq_any(struct store *s, sqlite3_stmt *st)
{
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r == SQLITE_ROW || r == SQLITE_DONE)
        return r == SQLITE_ROW;
    return store_fail(s, r, "looking up a page's dead letters");
}

/*
 * One statement a record: whether the newest open dead letter of the
 * record holds this version (store_dlq_open_for's row; an unknown version
 * reads as "") and whether a person settled it (store_dlq_settled).
 */
static int lookup_dlq(struct store *s, sqlite3_stmt *st, struct record_lookup *l)
{
    store_bind_ref(st, 3, l->id);
    store_bind_ref(st, 4, l->updated_at);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        l->open_same = sqlite3_column_int(st, 0);
        l->settled = sqlite3_column_int(st, 1);
    }
    sqlite3_reset(st);
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "looking up a page's dead letters");
}

static int lookup_in_txn(struct store *s, sqlite3_stmt *rec, sqlite3_stmt *any, sqlite3_stmt *dlq,
                         struct record_lookup *l, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += STORE_LOOKUP_BATCH)
        rc = lookup_records(s, rec, l + i, n - i < STORE_LOOKUP_BATCH ? n - i : STORE_LOOKUP_BATCH);
    size_t left = 0;
    for (size_t i = 0; i < n; i++)
        left += !l[i].unchanged;
    if (rc < 0 || left == 0 || (rc = dlq_any(s, any)) <= 0)
        return rc;
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (!l[i].unchanged)
            rc = lookup_dlq(s, dlq, &l[i]);
    return rc;
}

int store_lookup_page(struct store *s, const char *tenant, const char *resource,
                      struct record_lookup *l, size_t n)
{
    int rc = 0, owned = 0;
    sqlite3_stmt *rec =
        store_stmt(s, STMT_REC_LOOKUP,
                   "SELECT id, updated_at, hash, deleted_at IS NOT NULL FROM "
                   "records WHERE tenant = ?1 AND resource = ?2 AND id IN (" LOOKUP_IDS ")",
                   &rc);
    sqlite3_stmt *any = rec ? store_stmt(s, STMT_DLQ_ANY, STORE_SQL_DLQ_ANY, &rc) : NULL;
    sqlite3_stmt *dlq =
        any ? store_stmt(
                  s, STMT_DLQ_LOOKUP,
                  "SELECT coalesce((SELECT coalesce(record_updated_at, '') = ?4 FROM dlq "
                  "    WHERE tenant = ?1 AND resource = ?2 AND record_id = ?3 "
                  "    AND status IN ('pending', 'manual_review') ORDER BY id DESC LIMIT 1), 0), "
                  "  EXISTS (SELECT 1 FROM dlq WHERE tenant = ?1 AND resource = ?2 "
                  "    AND record_id = ?3 AND record_updated_at = ?4 "
                  "    AND (status = 'discarded' OR resolution = 'manual'))",
                  &rc)
            : NULL;
    if (!dlq)
        return rc;
    for (size_t i = 0; i < n; i++) {
        l[i].found = l[i].unchanged = l[i].open_same = l[i].settled = 0;
        memset(&l[i].rec, 0, sizeof(l[i].rec));
    }
    if (n == 0 || (rc = store_read_begin(s, &owned)) < 0)
        return rc;
    bind_key(rec, tenant, resource);
    bind_key(any, tenant, resource);
    bind_key(dlq, tenant, resource);
    rc = lookup_in_txn(s, rec, any, dlq, l, n);
    store_done(rec);
    store_done(any);
    store_done(dlq);
    store_read_end(s, owned);
    return rc;
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
    store_bind_ref(st, 3, id);
    store_bind_ref(st, 4, updated_at);
    store_bind_ref(st, 5, payload);
    store_bind_ref(st, 6, hash);
    store_bind_ref(st, 7, now);
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
 * The ids stream from one query while it runs (a full scan of a million
 * records held them all in memory first, 40 MiB): cb reads, it must not
 * write to the state database, and the id it gets is valid only during the
 * call.  On a failure part-way cb has seen some ids; the caller drops what
 * it gathered.
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
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (id && cb(id, arg) != 0) {
            r = SQLITE_DONE;
            break;
        }
    }
    rc = r == SQLITE_DONE ? 0 : store_fail(s, r, "listing records");
    store_done(st);
    return rc;
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
