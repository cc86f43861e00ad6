/*
 * store.h - the SQLite state database: opening (WAL, synchronous=FULL, busy
 * timeout, foreign keys, application_id), migrations, and every query the
 * daemon and the CLI run, as prepared statements bound with parameters.
 *
 * Ownership: struct store is allocated by store_open() and freed by
 * store_close().  Strings passed in are copied by SQLite as needed; strings
 * returned in structs documented as owned are freed with the matching
 * *_free() function.  All timestamps are TS_LEN text (see util.h).
 * Errors: 0 on success; -ENOENT when a looked-up row does not exist;
 * -EBUSY when the database stays locked past the busy timeout; -ENOSPC when
 * the disk is full; -EIO for any other SQLite error (the message is logged
 * and kept in store_errmsg()).
 */
#ifndef VOMO_STORE_H
#define VOMO_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define STORE_APPLICATION_ID 0x564f4d4f /* "VOMO" */
#define STORE_ENEWER 1000               /* returned negated: database newer than binary */
#define STORE_BUSY_TIMEOUT_MS 5000
#define HASH_HEX_LEN 65

struct store;

/*
 * Opens (creating if needed) the database; does not migrate.  A new file is
 * marked with STORE_APPLICATION_ID; a non-empty file marked otherwise is
 * refused with -EINVAL.  On failure *out is NULL and store_errmsg(NULL)
 * says why (naming the path).
 */
int store_open(const char *path, struct store **out) WUR;
/* Opens an existing database read-write without creating it (CLI): -ENOENT
 * and "no state database at PATH: ..." when there is none. */
int store_open_existing(const char *path, struct store **out) WUR;
void store_close(struct store *s);
/*
 * For a process in which only one thread ever uses SQLite (the daemon and
 * the CLI): SQLite without its mutexes and memory statistics.  Call before
 * any other SQLite use; -EBUSY when it is too late.  Connections are opened
 * with SQLITE_OPEN_NOMUTEX either way: each is used by one thread only.
 */
int store_single_thread(void);
sqlite3 *store_db(struct store *s);
/* The last error of s; with s NULL, why the last open failed (this thread). */
const char *store_errmsg(struct store *s);
/* Busy timeout of this connection (default STORE_BUSY_TIMEOUT_MS). */
void store_set_busy_timeout(struct store *s, int ms);
/* Whether errors are also logged with log_emit (default on; the CLI turns
 * it off and prints store_errmsg() itself). */
void store_set_log_errors(int on);

/* ---- the WAL and Litestream (store_wal.c) ---- */
/* *found: Litestream has been at this database (a `.NAME-litestream`
 * folder beside it, or its `_litestream_seq` table inside). */
int store_litestream_detected(struct store *s, bool *found) WUR;
/* on: no automatic checkpoints (wal_autocheckpoint = 0) and none when the
 * connection closes, leaving them to Litestream; off: SQLite's defaults. */
int store_set_litestream(struct store *s, bool on) WUR;
/* Bytes in the -wal file beside the database (0 when there is none). */
int64_t store_wal_size(struct store *s);
/* PRAGMA wal_checkpoint(TRUNCATE), waiting at most busy_ms for readers.
 * *done is false when a reader or writer kept it from finishing (not an
 * error: try again later). */
int store_wal_truncate(struct store *s, int busy_ms, bool *done) WUR;

/* Current PRAGMA user_version. */
int store_version(struct store *s, int *version) WUR;
/*
 * Applies every embedded migration newer than the database, all in one
 * BEGIN IMMEDIATE transaction (a failing step keeps none of them).
 * *from / *to (either may be NULL) get the
 * versions before and after.  A database newer than the binary fails with
 * -STORE_ENEWER and is left untouched; so is a file whose application_id is
 * not ours (-EINVAL).
 */
int store_migrate(struct store *s, int *from, int *to) WUR;

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Every write function below works
 * inside such a transaction (as one savepoint) or on its own (as one
 * transaction).  After a failed commit, call store_rollback(). */
int store_begin(struct store *s) WUR;
int store_commit(struct store *s) WUR;
void store_rollback(struct store *s);

/* ---- checkpoints ---- */
struct checkpoint {
    char updated_after[TS_LEN];     /* epoch when there is no row yet */
    char last_scan_at[TS_LEN];      /* "" when never */
    char last_full_scan_at[TS_LEN]; /* "" when never */
    int64_t resets;                 /* `checkpoint reset`s so far (0 when no row) */
};
int store_checkpoint_get(struct store *s, const char *tenant, const char *resource,
                         struct checkpoint *out) WUR;
/* Moves the checkpoint (updated_after NULL = leave it) and records the scan. */
int store_checkpoint_set(struct store *s, const char *tenant, const char *resource,
                         const char *updated_after, const char *scan_at, const char *scan_status,
                         int full_scan_complete) WUR;
/*
 * The end of a scan that started from a checkpoint with `resets` resets:
 * as store_checkpoint_set, but updated_after moves only if nobody reset the
 * checkpoint since (compare-and-set, in one transaction); otherwise the
 * reset stays, the scan is still recorded, and *dropped is set to 1.
 */
int store_checkpoint_set_if(struct store *s, const char *tenant, const char *resource,
                            const char *updated_after, int64_t resets, const char *scan_at,
                            const char *scan_status, int full_scan_complete, int *dropped) WUR;
/* The operator's rewind (`checkpoint reset`): sets updated_after only (and
 * counts the reset, so a scan running meanwhile will not overwrite it),
 * keeps the scan history; *old (may be NULL) gets the previous value. */
int store_checkpoint_reset(struct store *s, const char *tenant, const char *resource,
                           const char *updated_after, const char *now, char old[TS_LEN]) WUR;

/* ---- records: what the destination holds ---- */
struct record_state {
    char updated_at[TS_LEN];
    char hash[HASH_HEX_LEN];
    int deleted;
    char deleted_at[TS_LEN]; /* when it was found deleted ("" when live); store_record_get only */
};
int store_record_get(struct store *s, const char *tenant, const char *resource, const char *id,
                     struct record_state *out) WUR;
/*
 * The skip rule's view of one record of a page.  id, updated_at and hash
 * (the payload's SHA-256 hex) are the caller's, not copied; the rest is
 * filled in.  The DLQ is consulted only for a record that is not unchanged.
 */
struct record_lookup {
    const char *id;
    const char *updated_at;
    const char *hash;
    int found;               /* the records table has a row for id */
    struct record_state rec; /* that row, when found */
    int unchanged;           /* that row is live and holds this version and hash, or a newer one */
    int open_same;           /* the newest open dead letter holds this version */
    int settled;             /* a person discarded or resolved this version by hand */
};
#define STORE_LOOKUP_BATCH 16
/*
 * Looks up n records of one (tenant, resource) in one read transaction (or
 * inside the caller's), the records in batches of STORE_LOOKUP_BATCH ids a
 * query, and the DLQ only for records not unchanged, and not at all when the
 * DLQ holds no row of (tenant, resource): a page's lookups take SQLite's
 * locks once instead of three times a record.
 */
int store_lookup_page(struct store *s, const char *tenant, const char *resource,
                      struct record_lookup *l, size_t n) WUR;
/* Inserts or replaces (clearing deleted_at); an older updated_at than the
 * one held changes nothing, so a late, stale write never wins. */
int store_record_put(struct store *s, const char *tenant, const char *resource, const char *id,
                     const char *updated_at, const char *payload, const char *hash,
                     const char *now) WUR;
int store_record_mark_deleted(struct store *s, const char *tenant, const char *resource,
                              const char *id, const char *deleted_at) WUR;
/* Calls cb for every live (not deleted) id, streamed from one query: cb
 * must not write to the database, and id is valid only during the call;
 * cb returning non-zero stops.  On an error cb may have seen some ids. */
int store_record_each_live(struct store *s, const char *tenant, const char *resource,
                           int (*cb)(const char *id, void *arg), void *arg) WUR;
int store_record_count(struct store *s, const char *tenant, const char *resource,
                       int64_t *live) WUR;

/* ---- dlq ---- */
struct dlq_row {
    int64_t id;
    char *tenant;
    char *resource;
    char *record_id;
    char record_updated_at[TS_LEN]; /* "" when unknown */
    char status[16];
    char error_class[16];
    int http_status; /* 0 when none */
    int attempts;
    char next_attempt_at[TS_LEN]; /* "" when none */
    char *last_error;             /* may be NULL */
    char *payload;                /* may be NULL */
    char *resolution;             /* may be NULL */
    char *note;                   /* may be NULL */
    char created_at[TS_LEN];
    char updated_at[TS_LEN];
    bool is_delete; /* action 'delete': record_updated_at is the deletion time */
};
void dlq_row_free(struct dlq_row *r);               /* frees the strings, not r itself */
void dlq_rows_free(struct dlq_row *rows, size_t n); /* frees strings and the array */

struct dlq_new {
    const char *tenant, *resource, *record_id;
    const char *record_updated_at; /* NULL when unknown (malformed record) */
    const char *status;            /* "pending" or "manual_review" */
    const char *error_class;
    int http_status;
    int attempts;
    const char *next_attempt_at; /* NULL for manual_review */
    const char *last_error;
    const char *payload;
    const char *now;
    bool is_delete; /* a deletion that was not delivered (record_updated_at: its time) */
};
/*
 * Dead-letters a record.  If an open row (pending or manual_review) exists
 * for the same (tenant, resource, record_id) at the same version, that row
 * is updated instead (no duplicates); an open row at an older version is
 * resolved as 'superseded'.  Writes a dlq_events row.  *id may be NULL.
 */
int store_dlq_add(struct store *s, const struct dlq_new *n, int64_t *id) WUR;
/* The open row for a record, if any: 0 and its id and version, or -ENOENT. */
/* Whether any dead letter (open or closed) of this record holds exactly
 * this payload: 1, 0, or a negative errno. */
int store_dlq_has_payload(struct store *s, const char *tenant, const char *resource,
                          const char *record_id, const char *payload) WUR;
/* Whether a person settled this exact version of a record (discarded it,
 * or resolved it by hand): 1, 0, or a negative errno.  Scans do not send
 * such a version again. */
int store_dlq_settled(struct store *s, const char *tenant, const char *resource,
                      const char *record_id, const char *version) WUR;
int store_dlq_open_for(struct store *s, const char *tenant, const char *resource,
                       const char *record_id, int64_t *id, char version[TS_LEN]) WUR;
/* *any = whether the DLQ holds any row (in any status) of (tenant,
 * resource). */
int store_dlq_any(struct store *s, const char *tenant, const char *resource, int *any) WUR;
/* Resolves open rows of a record whose version <= applied_version as
 * 'superseded' (called when a newer version reached the destination). */
int store_dlq_supersede(struct store *s, const char *tenant, const char *resource,
                        const char *record_id, const char *applied_version, const char *now) WUR;
/* Up to limit pending rows with next_attempt_at <= now, oldest due first,
 * via the partial index.  *rows is allocated (free with dlq_rows_free). */
int store_dlq_due(struct store *s, const char *now, int limit, struct dlq_row **rows,
                  size_t *n) WUR;
/* The same for one tenant (index dlq_tenant_due_idx), so that one tenant's
 * backlog never hides another's due rows; `skip` (NULL: none) names
 * resources whose rows are left out, as ",users,groups,", so that rows that
 * must wait never take the places of rows that can go. */
int store_dlq_due_for(struct store *s, const char *tenant, const char *skip, const char *now,
                      int limit, struct dlq_row **rows, size_t *n) WUR;
int store_dlq_get(struct store *s, int64_t id, struct dlq_row *out) WUR;
/* Records a failed processor attempt: attempts, status (pending or
 * manual_review), next_attempt_at (NULL for manual_review), error. */
int store_dlq_attempt_failed(struct store *s, int64_t id, int attempts, const char *status,
                             const char *next_attempt_at, const char *error_class, int http_status,
                             const char *last_error, const char *now) WUR;
/* Sets status resolved/discarded with a resolution and note; actor is
 * 'daemon' or a Unix user name.  -ENOENT for no such row, -EALREADY when it
 * is already closed, -EINVAL for another status. */
int store_dlq_close(struct store *s, int64_t id, const char *status, const char *resolution,
                    const char *note, const char *actor, const char *now) WUR;
/* Makes a row pending and due now (CLI retry), attempts kept; -EALREADY
 * for a closed row. */
int store_dlq_requeue(struct store *s, int64_t id, const char *actor, const char *now) WUR;
/* requeue with options: STORE_RETRY_DISCARDED also reopens a discarded row
 * (-EEXIST when another row of the record is open; resolved rows are always
 * refused).  prev_status (may be NULL) gets the status the row had. */
#define STORE_RETRY_DISCARDED 0x1u
int store_dlq_retry(struct store *s, int64_t id, unsigned flags, const char *actor, const char *now,
                    char prev_status[16]) WUR;
/* Deletes resolved rows last changed before closed_before (their events
 * cascade).  Open and discarded rows are never purged, nor a version
 * resolved by hand (resolution 'manual') until a newer version of the
 * record is known: the skip rule needs those to leave settled versions
 * alone. */
int store_dlq_purge(struct store *s, const char *closed_before, int64_t *deleted) WUR;
int store_dlq_event(struct store *s, int64_t dlq_id, const char *actor, const char *action,
                    const char *error_class, int http_status, const char *note,
                    const char *now) WUR;

/* ---- hold mode ---- */
struct hold_row {
    char record_id[128];
    char record_updated_at[TS_LEN];
    int attempts;
};
/* Counts a failed scan attempt of a record (insert with attempts 1, or +1);
 * *attempts gets the new count. */
int store_hold_fail(struct store *s, const char *tenant, const char *resource,
                    const char *record_id, const char *record_updated_at, const char *error_class,
                    int http_status, const char *last_error, const char *now, int *attempts) WUR;
int store_hold_clear(struct store *s, const char *tenant, const char *resource,
                     const char *record_id) WUR;
/* The oldest held version for (tenant, resource): 0 and it, or -ENOENT. */
int store_hold_oldest(struct store *s, const char *tenant, const char *resource,
                      char version[TS_LEN]) WUR;

/* Calls cb for every held record id of (tenant, resource); the ids are
 * collected first, so cb may change the holds table. */
int store_hold_each(struct store *s, const char *tenant, const char *resource,
                    int (*cb)(const char *id, void *arg), void *arg) WUR;

/* ---- reconciliations that need a person ---- */
/* A reconciliation found `candidates` of `held` records missing, more than
 * it may delete at once (max_deletes): it deleted nothing.  One row per
 * (tenant, resource), replaced by the newest. */
int store_reconcile_block_set(struct store *s, const char *tenant, const char *resource,
                              int64_t candidates, int64_t held, int64_t max_deletes,
                              const char *trace_id, const char *now) WUR;
/* A person allows the refused deletions (`vomo-sync reconcile allow`):
 * -ENOENT when nothing was refused. */
int store_reconcile_allow(struct store *s, const char *tenant, const char *resource,
                          const char *actor, const char *now) WUR;
/* How many deletions a person allowed for (tenant, resource): 0 when none
 * (or no row). */
int store_reconcile_allowed(struct store *s, const char *tenant, const char *resource,
                            int64_t *allowed) WUR;
/* A reconciliation within the bound: the row (if any) goes. */
int store_reconcile_block_clear(struct store *s, const char *tenant, const char *resource) WUR;

/* ---- runtime state for `status` ---- */
int store_tenant_state_set(struct store *s, const char *tenant, const char *status,
                           const char *reason, const char *now) WUR;
int store_breaker_set(struct store *s, const char *name, const char *state, int failures,
                      const char *reason, const char *now) WUR;

struct scan_summary {
    const char *tenant, *resource, *trace_id, *kind, *status, *detail;
    char started_at[TS_LEN];
    char finished_at[TS_LEN];
    int64_t pages, records, applied, skipped, failed, deleted;
    /* Leave the history as it is this time (store_scan_insert). */
    bool defer_prune;
};
/* Records a finished scan and, unless sum->defer_prune, prunes the history
 * to the newest STORE_SCANS_KEPT of the (tenant, resource) (about three
 * weeks at a 15 min interval).  Pruning walks the STORE_SCANS_KEPT newest
 * rows' index entries, more than the rest of a scan that finds nothing
 * costs: the engine prunes once every STORE_SCANS_PRUNE_EVERY scans of a
 * (tenant, resource), so the history holds at most
 * STORE_SCANS_KEPT + STORE_SCANS_PRUNE_EVERY - 1 of its scans. */
#define STORE_SCANS_KEPT 2000
#define STORE_SCANS_PRUNE_EVERY 32
int store_scan_insert(struct store *s, const struct scan_summary *sum) WUR;

/* Open dead letters: pending and manual_review rows (for status lines),
 * from the counts the dlq table's triggers keep (two rows, not a count). */
int store_dlq_counts(struct store *s, int64_t *pending, int64_t *review) WUR;

#endif
