/*
 * scan_int.h - what the two files of a scan share (scan.c: pages, records
 * and their group commit; scan_end.c: passes, deletions and the
 * checkpoint): the scan's structures and a few helpers.  Nobody else
 * includes it; scan.h is the public face.
 */
#ifndef VOMO_SCAN_INT_H
#define VOMO_SCAN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "call.h"
#include "dest.h"
#include "idset.h"
#include "log.h"
#include "scan.h"
#include "store.h"
#include "vomo.h"

enum rw_state { RW_PENDING, RW_SKIP, RW_APPLY, RW_FAIL, RW_CANCEL };

struct page;

/* One record of a page on its way to the destination. */
struct rec_work {
    struct delivery dl;
    struct claim claim; /* held from delivery until the page is saved */
    struct page *pg;
    struct vomo_record *rec;
    enum rw_state state;
    enum err_class cls;
    bool review; /* the destination says: manual review now */
    long status;
    char msg[256];
    char hash[HASH_HEX_LEN];
    struct record_lookup look; /* the skip rule's lookup (store_lookup_page) */
};

struct page {
    struct call call;
    struct scan *s;
    int number;
    struct vomo_page vp;
    bool have_vp;
    struct rec_work *work;
    size_t outstanding;
    struct page *commit_next; /* in the engine's group-commit queue */
};

/* A record a complete scan did not see, read back by id (scan_confirm.c). */
struct confirm;

/* A deletion found by a complete full scan. */
struct del_work {
    struct delivery dl;
    struct claim claim; /* held while the deletion is delivered and saved */
    struct scan *s;
    char *id;
};

struct scan {
    struct slot *slot;
    struct tenant *t;
    struct engine *e;
    const char *resource;
    bool full;
    char trace_id[TRACE_ID_LEN];
    char old_checkpoint[TS_LEN];
    int64_t old_resets;         /* the checkpoint's reset count at the start */
    char updated_after[TS_LEN]; /* "" for a full scan */
    char started_at[TS_LEN];
    int64_t started_mono;
    int pass;
    struct idset seen;
    int64_t max_total;
    int last_page, next_page, open_pages, pages_done;
    int fetching; /* pages requested and not yet answered (open_pages counts them too) */
    int64_t server_start_ms;
    bool have_server_time;
    bool bad_date_logged; /* an unusable Date header was reported */
    char max_processed[TS_LEN];
    bool failed, aborted;
    /* Inside a group commit only (both false elsewhere): dlq_ask, the DLQ
     * is still to be asked whether it holds any row of this resource;
     * dlq_none, it holds none, so an applied record has no dead letter to
     * supersede. */
    bool dlq_ask, dlq_none;
    char fail_msg[300];
    int64_t n_applied, n_skipped, n_failed, n_deleted;
    struct confirm *cands; /* records not seen, being read back by id */
    size_t ncands, next_cand, cands_open;
    int64_t n_deferred; /* not seen, and not confirmed either way */
    struct del_work *dels;
    size_t ndels, dels_left;
    char deleted_at[TS_LEN];
    scan_done_fn done;
    /* scan_fetch_new: one record by id (scan_confirm.c), no checkpoint */
    bool fetch;
    struct scan_fetch_opts fetch_opts;
    struct scan_fetch_answer answer;
};

/* Log fields naming the scan (tenant, resource, trace id). */
struct log_fields scan_log_fields(const struct scan *s);
void scan_now(char out[TS_LEN]);
/* Marks the scan failed with "what: detail" (the first reason is kept). */
void scan_fail(struct scan *s, const char *what, const char *detail);
/* Requests pages while fewer than vomo.max_concurrency are open. */
void scan_fill_window(struct scan *s);
/* Every page of a pass has ended: repeat, finish, or reconcile. */
void scan_end_pass(struct scan *s);
/* Writes a delivered record, or dead-letters (holds) a failed one, inside
 * the caller's transaction (scan.c). */
int scan_write_applied(struct scan *s, struct rec_work *rw, const char *now);
int scan_write_failure(struct scan *s, struct rec_work *rw, const char *now);
/* A complete scan reads back by id the records it did not see and would
 * otherwise conclude something about (scan_confirm.c), then delivers the
 * deletions confirmed (scan_deliver_deletions, scan_end.c) and finishes. */
void scan_confirm_start(struct scan *s);
void scan_deliver_deletions(struct scan *s);
/* How a fetch (scan_fetch_new) ends, instead of a scan's checkpoint. */
void scan_fetch_finish(struct scan *s, const char *status);

#endif
