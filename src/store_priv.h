/*
 * store_priv.h - what the files of the store module (store.c,
 * store_records.c, store_dlq.c, store_state.c, store_wal.c) share and nobody else sees:
 * the struct store itself, the prepared-statement cache and the error
 * mapping.  Every SQL statement the daemon runs per record is prepared once
 * (SQLITE_PREPARE_PERSISTENT), kept in the cache by its id, and reset after
 * each use with store_done().
 */
#ifndef VOMO_STORE_PRIV_H
#define VOMO_STORE_PRIV_H

#include <sqlite3.h>

#include "store.h"

enum store_stmt_id {
    STMT_CKPT_GET,
    STMT_CKPT_SET,
    STMT_CKPT_RESET,
    STMT_REC_GET,
    STMT_REC_LOOKUP,
    STMT_DLQ_ANY,
    STMT_DLQ_LOOKUP,
    STMT_DLQ_COUNTS,
    STMT_READ_BEGIN,
    STMT_READ_END,
    STMT_REC_PUT,
    STMT_REC_DELETE,
    STMT_REC_LIVE,
    STMT_REC_COUNT,
    STMT_DLQ_OPEN_ROWS,
    STMT_DLQ_UPDATE_SAME,
    STMT_DLQ_INSERT,
    STMT_DLQ_DUE,
    STMT_DLQ_DUE_FOR,
    STMT_DLQ_HAS_PAYLOAD,
    STMT_DLQ_SETTLED,
    STMT_DLQ_GET,
    STMT_DLQ_FAILED,
    STMT_DLQ_CLOSE,
    STMT_DLQ_REQUEUE,
    STMT_DLQ_EVENT,
    STMT_DLQ_PURGE,
    STMT_OB_ADD,
    STMT_OB_BY_KEY,
    STMT_OB_GET,
    STMT_OB_UNVALIDATED,
    STMT_OB_SET_KEY,
    STMT_OB_DUE,
    STMT_OB_BLOCKED,
    STMT_OB_TAKEN,
    STMT_OB_BEGIN,
    STMT_OB_DONE,
    STMT_OB_FAILED,
    STMT_OB_RECOVER,
    STMT_OB_REQUEUE,
    STMT_OB_CANCEL,
    STMT_OB_PURGE,
    STMT_OB_EVENT,
    STMT_OB_COUNTS,
    STMT_OB_SCRAPE,
    STMT_OB_DLQ_FIND,
    STMT_OB_DLQ_INSERT,
    STMT_OB_DLQ_REOPEN,
    STMT_OB_DLQ_CLOSE,
    STMT_OB_DLQ_OF,
    STMT_OB_DLQ_NO_DUE,
    STMT_HOLD_FAIL,
    STMT_HOLD_ATTEMPTS,
    STMT_HOLD_CLEAR,
    STMT_HOLD_OLDEST,
    STMT_HOLD_EACH,
    STMT_HOLD_RELEASE,
    STMT_RECON_BLOCK_SET,
    STMT_RECON_BLOCK_CLEAR,
    STMT_RECON_ALLOW,
    STMT_RECON_ALLOWED,
    STMT_TENANT_STATE,
    STMT_BREAKER,
    STMT_SCAN,
    STMT_SCAN_PRUNE,
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_SAVEPOINT,
    STMT_RELEASE,
    STMT_ROLLBACK_TO,
    STMT_LITESTREAM_SEQ,
    STMT_COUNT
};

/* Whether the DLQ holds any row of (tenant ?1, resource ?2): one statement,
 * STMT_DLQ_ANY, used by the page lookups and by store_dlq_any(). */
#define STORE_SQL_DLQ_ANY "SELECT 1 FROM dlq WHERE tenant = ?1 AND resource = ?2 LIMIT 1"

struct store {
    sqlite3 *db;
    char *path;
    char errmsg[512];
    int sp_owns_txn; /* the open savepoint began the transaction */
    int busy_timeout_ms;
    sqlite3_stmt *stmts[STMT_COUNT];
};

/*
 * Returns the cached statement for id, preparing sql the first time; NULL
 * after recording the error (see store_fail) in *rc.  The statement comes
 * back reset with no bindings.
 */
sqlite3_stmt *store_stmt(struct store *s, enum store_stmt_id id, const char *sql, int *rc);
/* Resets a statement after use so that it holds no lock and no bindings. */
void store_done(sqlite3_stmt *st);
/*
 * Maps an SQLite result code to -EBUSY / -ENOSPC / -EIO, keeps
 * "what: sqlite message" in s->errmsg and logs it.  Returns the negative errno.
 */
int store_fail(struct store *s, int sqlite_rc, const char *what);
/* Steps a statement that returns no rows to completion, resets it: 0 or store_fail(). */
int store_exec_stmt(struct store *s, sqlite3_stmt *st, const char *what);

/*
 * Ends the hold of a record (hold checkpoint mode) whose held version is at
 * or before `upto` (NULL: any version), inside the caller's unit.  Every
 * path that settles a record calls it: dead-lettered, applied, marked
 * deleted, a dead letter closed or retried.
 */
int store_hold_release(struct store *s, const char *tenant, const char *resource,
                       const char *record_id, const char *upto);

/* Binds text, or NULL when v is NULL; the _opt form also binds "" as NULL
 * (an empty timestamp means none). */
int store_bind_text(sqlite3_stmt *st, int i, const char *v);
int store_bind_opt_text(sqlite3_stmt *st, int i, const char *v);
/* Binds text without copying it (SQLITE_STATIC): only where v outlives
 * the statement's use, which ends with store_done() before returning. */
int store_bind_ref(sqlite3_stmt *st, int i, const char *v);
/* Copies a text column into a TS_LEN buffer ("" for NULL). */
void store_col_ts(sqlite3_stmt *st, int i, char out[TS_LEN]);
/* The same into out[size], truncated to fit. */
void store_col_copy(sqlite3_stmt *st, int i, char *out, size_t size);
/* A newly allocated copy of a text column, or NULL for NULL. */
char *store_col_dup(sqlite3_stmt *st, int i);
/* A text column, "" for NULL: valid until the statement steps again. */
const char *store_col_text(sqlite3_stmt *st, int i);
/* A timestamp column in Unix ms; 0 for NULL or a value that is not one. */
int64_t store_col_ms(sqlite3_stmt *st, int i);
/* Binds Unix ms as the state database's timestamp text. */
void store_bind_ms(sqlite3_stmt *st, int i, int64_t ms);

/* For statements that run on transitions or once an evaluation, never per
 * record: prepared for this call (not cached), finalized by the caller,
 * or by store_run_once() which steps one without rows to its end. */
int store_prepare_once(struct store *s, const char *sql, sqlite3_stmt **st, const char *what);
int store_run_once(struct store *s, sqlite3_stmt *st, const char *what);

/*
 * One atomic unit of several statements, inside a transaction the caller
 * holds (a SAVEPOINT) or on its own (BEGIN IMMEDIATE, so the write lock is
 * taken up front and the busy timeout applies).  Not nested.
 */
int store_savepoint(struct store *s) WUR;
int store_release(struct store *s) WUR;
void store_rollback_to(struct store *s);
/*
 * A read transaction around several lookups, so that they take SQLite's
 * file locks once: BEGIN (deferred) when none is open, nothing inside the
 * caller's transaction.  *owned tells store_read_end() whether to end it.
 */
int store_read_begin(struct store *s, int *owned) WUR;
void store_read_end(struct store *s, int owned);
/* Ends the unit: releases it when rc is 0 (rolling back if that fails),
 * rolls it back otherwise.  Returns the final result. */
int store_unit_end(struct store *s, int rc);

#endif
