/*
 * recordfetch.h - read one record of a tenant from VOMO now, by id, and
 * apply it: for the read API's live reads and for VOMO's webhooks (hints).
 *
 * The read is GET /{resource}/{id} through the tenant's VOMO lane (rate
 * gate, breaker, retry budget, vomo.max_concurrency), taken exactly like a
 * reconciliation's read-back (scan_fetch_new in scan.h): a 200 is applied
 * like any scan record (same skip rule, same destination, claimed first),
 * a 404 after the [retry] attempts is a confirmed deletion of a record the
 * destination holds.  No checkpoint moves: polling stays the truth.
 *
 * The owner learns the outcome through one callback, which never runs
 * before recordfetch_start() returns.  With opts.timeout_ms, it runs at
 * the latest when that time has passed (the read goes on in the
 * background, its result is still applied); with opts.first_answer, it
 * runs as soon as VOMO answered (or failed) the first attempt, also while
 * the read goes on retrying.  Otherwise it runs once the record is applied.
 *
 * Ownership: the module allocates the fetch and frees it itself once the
 * read has ended and the callback has run or been cancelled.  The handle
 * from recordfetch_start() is valid until the callback has run or
 * recordfetch_cancel() was called; the result and its body are valid only
 * during the callback.  A fetch holds a reference on its tenant and on the
 * engine (busy), so a tenant being closed or a daemon stopping waits for it
 * (or cancels it, through the lane) like any scan.
 */
#ifndef VOMO_RECORDFETCH_H
#define VOMO_RECORDFETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "util.h"

struct engine;
struct recordfetch;

enum recordfetch_outcome {
    RECORDFETCH_NONE,    /* nothing was decided (VOMO failed, cancelled, not yet known) */
    RECORDFETCH_APPLIED, /* the destination now holds VOMO's version */
    RECORDFETCH_SKIPPED, /* the destination held this version already */
    RECORDFETCH_DELETED, /* VOMO confirmed it gone (404): deleted at the destination */
    RECORDFETCH_GONE,    /* VOMO answered 404 for a record the destination did not hold */
    RECORDFETCH_FAILED,  /* the delivery failed: the record is in the DLQ (or held) */
    RECORDFETCH_PENDING, /* still being applied or confirmed when the callback ran */
};

struct recordfetch_opts {
    int64_t timeout_ms; /* 0: none; also caps each attempt's HTTP timeout */
    bool first_answer;  /* call back at the first attempt's answer */
};

struct recordfetch_result {
    long status;           /* VOMO's HTTP status, 0 when none arrived */
    const char *net_error; /* "timeout", "reset", "dns", "tls", "connect", "error"; NULL */
    enum err_class cls;    /* EC_NONE when VOMO answered 2xx with the record */
    const char *body;      /* the body as VOMO sent it, NULL when none */
    size_t body_len;
    enum recordfetch_outcome outcome;
    bool unreachable;  /* no answer from VOMO: network failure, timeout, 5xx */
    bool breaker_open; /* VOMO's breaker is open: nothing was sent */
    bool auth_failed;  /* the tenant's token is refused: nothing was sent */
    bool timed_out;    /* opts.timeout_ms passed before VOMO answered */
    bool cancelled;    /* the tenant closed or the daemon stops */
    int attempts;
    const char *message; /* what went wrong, "" when nothing */
};

typedef void (*recordfetch_cb)(const struct recordfetch_result *r, void *arg);

/*
 * Starts a read of record `id` of `resource` of tenant `tenant`.  0: the
 * callback runs once, later; -ENOENT: no such tenant, or the tenant does
 * not sync that resource; -EINVAL: the id is empty, longer than 127
 * bytes or not made of letters, digits, '-' and '_'; -ESHUTDOWN: the
 * engine stops or the tenant closes.  A failure never calls back.  out
 * (may be NULL) gets the handle for recordfetch_cancel().
 */
int recordfetch_start(struct engine *e, const char *tenant, const char *resource, const char *id,
                      const struct recordfetch_opts *opts, recordfetch_cb cb, void *arg,
                      struct recordfetch **out) WUR;
/* The owner goes away (its HTTP client left): the callback will not run.
 * The read itself ends on its own, and what it read is still applied. */
void recordfetch_cancel(struct recordfetch *f);
/* Fetches not yet freed, all tenants (tests, shutdown checks). */
int recordfetch_open_count(void);
/* Whether an id may be asked for (what recordfetch_start calls -EINVAL). */
bool recordfetch_id_valid(const char *id);
const char *recordfetch_outcome_name(enum recordfetch_outcome o);

#endif
