/*
 * store_scrape.c - the store's reads for the metrics endpoint (see
 * store_scrape.h).  Prepared per scrape, like store_stats.c: a scrape
 * comes at most every few seconds, and keeping these out of the
 * per-record statement cache keeps that cache about records.
 */
#include "store_scrape.h"

#include <errno.h>

#include "store_priv.h"

/* Prepares sql, binds `tenant` to ?1 when given. */
static int prepare(struct store *s, const char *sql, const char *tenant, sqlite3_stmt **st,
                   const char *what)
{
    int rc = store_prepare_once(s, sql, st, what);
    if (rc < 0)
        return rc;
    if (tenant)
        store_bind_text(*st, 1, tenant);
    return 0;
}

int store_dlq_count_rows(struct store *s,
                         void (*fn)(void *arg, const char *tenant, const char *status,
                                    int64_t rows),
                         void *arg)
{
    sqlite3_stmt *st;
    int rc = prepare(s, "SELECT tenant, status, rows FROM dlq_counts", NULL, &st,
                     "counting dead letters");
    if (rc < 0)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, store_col_text(st, 0), store_col_text(st, 1), sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "counting dead letters");
}

int store_dlq_oldest_pending(struct store *s, const char *const *tenants, size_t n,
                             void (*fn)(void *arg, const char *tenant, const char *created),
                             void *arg)
{
    sqlite3_stmt *st;
    /* The first entry of the partial index dlq_pending_age_idx: one seek.
     * INDEXED BY: were the index missing, this fails loudly instead of
     * silently counting through a large DLQ. */
    int rc = prepare(s,
                     "SELECT created_at FROM dlq INDEXED BY dlq_pending_age_idx "
                     "WHERE tenant = ?1 AND status = 'pending' ORDER BY created_at LIMIT 1",
                     NULL, &st, "finding the oldest dead letter");
    if (rc < 0)
        return rc;
    int r = SQLITE_DONE;
    for (size_t i = 0; i < n; i++) {
        store_bind_text(st, 1, tenants[i]);
        r = sqlite3_step(st);
        if (r != SQLITE_ROW && r != SQLITE_DONE)
            break;
        fn(arg, tenants[i], r == SQLITE_ROW ? store_col_text(st, 0) : "");
        sqlite3_reset(st);
        r = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "finding the oldest dead letter");
}

int store_hold_counts(struct store *s,
                      void (*fn)(void *arg, const char *tenant, const char *resource, int64_t n),
                      void *arg)
{
    sqlite3_stmt *st;
    int rc = prepare(s, "SELECT tenant, resource, count(*) FROM holds GROUP BY tenant, resource",
                     NULL, &st, "counting holds");
    if (rc < 0)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, store_col_text(st, 0), store_col_text(st, 1), sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "counting holds");
}

int store_checkpoint_each(struct store *s,
                          void (*fn)(void *arg, const char *tenant, const char *resource,
                                     const char *updated_after, const char *last_status,
                                     const char *last_at),
                          void *arg)
{
    sqlite3_stmt *st;
    int rc = prepare(s,
                     "SELECT tenant, resource, updated_after, last_scan_status, last_scan_at "
                     "FROM checkpoints",
                     NULL, &st, "reading checkpoints");
    if (rc < 0)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, store_col_text(st, 0), store_col_text(st, 1), store_col_text(st, 2),
           store_col_text(st, 3), store_col_text(st, 4));
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "reading checkpoints");
}
