/*
 * store_stats.c - aggregate counts for status lines (systemd STATUS=, the
 * engine's summary), read once per DLQ tick, never per record.
 */
#include "store_priv.h"

int store_dlq_counts(struct store *s, int64_t *pending, int64_t *review)
{
    int rc = 0;
    /* From dlq_counts, kept by triggers as rows change (migration 0003): a
     * row per tenant and status costs the same with ten dead letters or a
     * million, where counting the index dlq_status_idx took 4 ms a tick at
     * 100,000 open rows. */
    sqlite3_stmt *st =
        store_stmt(s, STMT_DLQ_COUNTS,
                   "SELECT coalesce((SELECT sum(rows) FROM dlq_counts WHERE status = 'pending'), "
                   "0), coalesce((SELECT sum(rows) FROM dlq_counts WHERE status = "
                   "'manual_review'), 0)",
                   &rc);
    if (!st)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *pending = sqlite3_column_int64(st, 0);
        *review = sqlite3_column_int64(st, 1);
    }
    store_done(st);
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "counting dead letters");
}
