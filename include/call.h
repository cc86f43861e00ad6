/*
 * call.h - one logical HTTP operation (a VOMO request or a webhook
 * delivery) with everything around it: admission through a lane, the
 * classification of each outcome, breaker and rate-gate accounting,
 * in-cycle retries with backoff and jitter paid from a retry budget, and one
 * structured log line per retry, wait or exhaustion.
 *
 * The owner embeds struct call, fills it with call_init() and the fields
 * marked "set by owner", then call_start().  done runs exactly once: with
 * the final outcome (success, a class that retrying cannot fix, or retries
 * exhausted), or with cancelled = true when the lane is torn down.  The
 * response in call_result is valid only during done.
 */
#ifndef VOMO_CALL_H
#define VOMO_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "backoff.h"
#include "budget.h"
#include "classify.h"
#include "http.h"
#include "lane.h"

struct call;

struct call_result {
    enum err_class cls;
    enum treatment treatment;
    long status;
    int attempts;
    bool cancelled;
    /* Writes: whether any attempt of the call may have been applied
     * (classify_maybe_applied); false when every one certainly was not. */
    bool maybe_applied;
    const struct http_response *resp; /* NULL when cancelled before a response */
    char message[256];                /* what went wrong, for logs and the DLQ */
};

typedef void (*call_done_fn)(struct call *c, const struct call_result *r);
/* Checks a 2xx body; a negative return makes the outcome bad_data (retried
 * like a transient failure for reads).  May keep parsed data in the owner. */
typedef int (*call_check_fn)(struct call *c, const struct http_response *resp);

struct call {
    struct lane_job job;
    /* set by owner (pointers borrowed; must outlive the call) */
    struct lane *lane;
    struct http_client *http;
    enum op_context ctx;
    const struct backoff_policy *backoff;
    struct retry_budget *budget; /* may be NULL */
    struct breaker *breaker;     /* may be NULL: outcomes feed it */
    struct rategate *gate;       /* may be NULL: responses feed it */
    int64_t timeout_ms, connect_timeout_ms;
    size_t max_response;
    const char *tenant, *resource, *record_id;
    const char *trace_id;
    call_check_fn check;
    call_done_fn done;
    /* Writes only: on a 409 (conflict), called once instead of done to
     * re-read the resource and re-apply the change; it must end with
     * call_retry_with_body() or call_abandon().  A second 409 ends the
     * call with class conflict and treatment dead_letter.  NULL: a 409
     * ends the call at once. */
    void (*reread)(struct call *c);
    /* Called just before each attempt is sent (may be NULL): a webhook
     * signs with the secret in force at that moment, not at queueing. */
    void (*before_send)(struct call *c);
    /* Set by the owner for a write that a duplicate would harm (a create):
     * an attempt that may have been applied ends the call instead of being
     * retried in-cycle, so the owner can look before it sends again; and
     * each attempt uses a fresh connection, which libcurl never re-sends
     * on its own. */
    bool no_blind_resend;
    /* Called after each attempt that got an outcome (not a cancelled one),
     * before it is retried or done runs (may be NULL): an owner that must
     * answer someone quickly learns the first answer while the call goes
     * on retrying.  cls is that attempt's class; resp is valid only
     * during the call. */
    void (*on_attempt)(struct call *c, const struct http_response *resp, enum err_class cls);
    void *arg;
    /* private */
    char *method, *url, *body;
    size_t body_len;
    char **headers;
    int attempt;
    int rereads;
    bool maybe_applied;
    uint64_t sent_tag; /* free for before_send (e.g. a token generation) */
};

/* Copies method, url, body and headers (NULL-terminated list or NULL). */
void call_init(struct call *c, const char *method, const char *url, const char *body,
               size_t body_len, const char *const *headers);
void call_start(struct call *c);
/* Replaces header `index` of the call (as given to call_init). */
void call_set_header(struct call *c, size_t index, const char *header);
/* After a re-read: send the write again with a fresh body (copied). */
void call_retry_with_body(struct call *c, const char *body, size_t len);
/* After a re-read that failed: end the call with done (class conflict). */
void call_abandon(struct call *c, const char *why);
/* Releases what call_init copied (not the struct itself). */
void call_release(struct call *c);

#endif
