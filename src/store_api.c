/*
 * store_api.c - the store's reads for the read API (see store_api.h).
 * Prepared per request, like store_scrape.c: API reads are few next to a
 * scan's per-record statements, and keeping them out of the statement
 * cache keeps that cache about syncing.  A page and its total are read in
 * one read transaction, so a scan committing in between cannot make them
 * disagree.
 */
#include "store_api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_priv.h"

/* Prepares sql and binds tenant and resource to ?1 and ?2. */
static int prepare(struct store *s, const char *sql, const char *tenant, const char *resource,
                   sqlite3_stmt **st, const char *what)
{
    int rc = store_prepare_once(s, sql, st, what);
    if (rc < 0)
        return rc;
    store_bind_text(*st, 1, tenant);
    store_bind_text(*st, 2, resource);
    return 0;
}

int store_api_record(struct store *s, const char *tenant, const char *resource, const char *id,
                     struct api_record *out)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof(*out));
    int rc = prepare(s,
                     "SELECT updated_at, deleted_at, payload FROM records "
                     "WHERE tenant = ?1 AND resource = ?2 AND id = ?3",
                     tenant, resource, &st, "reading a record for the API");
    if (rc < 0)
        return rc;
    store_bind_text(st, 3, id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        store_col_ts(st, 0, out->updated_at);
        store_col_ts(st, 1, out->deleted_at);
        out->payload = xstrdup(store_col_text(st, 2));
    }
    sqlite3_finalize(st);
    if (r == SQLITE_DONE)
        return -ENOENT;
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "reading a record for the API");
}

void store_api_record_free(struct api_record *r)
{
    free(r->payload);
    r->payload = NULL;
}

/* Two spellings, so that an index on updated_at (none yet) could serve
 * the filtered one: "?3 IS NULL OR ..." would keep the planner from it. */
#define LIST_WHERE_ALL "WHERE tenant = ?1 AND resource = ?2 AND deleted_at IS NULL"
#define LIST_WHERE_SINCE LIST_WHERE_ALL " AND updated_at >= ?3"

static int page_rows(struct store *s, const char *tenant, const char *resource, const char *ua,
                     int64_t offset, int limit, store_api_row_fn fn, void *arg)
{
    sqlite3_stmt *st;
    int rc = prepare(s,
                     ua && *ua ? "SELECT id, updated_at, payload FROM records " LIST_WHERE_SINCE
                                 " ORDER BY id LIMIT ?4 OFFSET ?5"
                               : "SELECT id, updated_at, payload FROM records " LIST_WHERE_ALL
                                 " ORDER BY id LIMIT ?4 OFFSET ?5",
                     tenant, resource, &st, "reading a page for the API");
    if (rc < 0)
        return rc;
    if (ua && *ua)
        store_bind_text(st, 3, ua);
    sqlite3_bind_int(st, 4, limit);
    sqlite3_bind_int64(st, 5, offset);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, store_col_text(st, 0), store_col_text(st, 1), store_col_text(st, 2));
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "reading a page for the API");
}

static int page_total(struct store *s, const char *tenant, const char *resource, const char *ua,
                      int64_t *total)
{
    sqlite3_stmt *st;
    int rc = prepare(s,
                     ua && *ua ? "SELECT count(*) FROM records " LIST_WHERE_SINCE
                               : "SELECT count(*) FROM records " LIST_WHERE_ALL,
                     tenant, resource, &st, "counting records for the API");
    if (rc < 0)
        return rc;
    if (ua && *ua)
        store_bind_text(st, 3, ua);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "counting records for the API");
}

int store_api_page(struct store *s, const char *tenant, const char *resource,
                   const char *updated_after, int64_t offset, int limit, store_api_row_fn fn,
                   void *arg, int64_t *total)
{
    int owned = 0;
    int rc = store_read_begin(s, &owned);
    if (rc < 0)
        return rc;
    rc = page_total(s, tenant, resource, updated_after, total);
    if (rc == 0)
        rc = page_rows(s, tenant, resource, updated_after, offset, limit, fn, arg);
    store_read_end(s, owned);
    return rc;
}

int store_api_last_complete(struct store *s, const char *tenant, const char *resource,
                            char out[TS_LEN])
{
    sqlite3_stmt *st;
    /* The newest complete row of `scans` (index scans_tenant_idx, walked
     * back from the newest), and the checkpoint's own record of its last
     * scan, in case the scans row could not be written. */
    int rc = prepare(s,
                     "SELECT max(t) FROM ("
                     "  SELECT (SELECT finished_at FROM scans WHERE tenant = ?1 AND resource = ?2"
                     "          AND status = 'complete' ORDER BY id DESC LIMIT 1) AS t"
                     "  UNION ALL SELECT last_scan_at FROM checkpoints WHERE tenant = ?1"
                     "  AND resource = ?2 AND last_scan_status = 'complete')",
                     tenant, resource, &st, "reading the last complete scan");
    if (rc < 0)
        return rc;
    int r = sqlite3_step(st);
    bool found = r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    if (found)
        store_col_ts(st, 0, out);
    sqlite3_finalize(st);
    if (r != SQLITE_ROW)
        return store_fail(s, r, "reading the last complete scan");
    return found ? 0 : -ENOENT;
}

int store_api_last_status(struct store *s, const char *tenant, const char *resource, char out[16])
{
    sqlite3_stmt *st;
    int rc = prepare(s,
                     "SELECT last_scan_status FROM checkpoints WHERE tenant = ?1 AND "
                     "resource = ?2",
                     tenant, resource, &st, "reading the last scan");
    if (rc < 0)
        return rc;
    int r = sqlite3_step(st);
    out[0] = '\0';
    if (r == SQLITE_ROW)
        store_col_copy(st, 0, out, 16);
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : store_fail(s, r, "reading the last scan");
}
