/*
 * call.c - retries, classification and accounting around one HTTP
 * operation (see call.h).  The retry decision follows the treatment table
 * in classify.c: no status code is interpreted here.
 */
#include "call.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "obs.h"
#include "util.h"

#define CALL_FEW_ATTEMPTS 3 /* "retry a few times, then surface" (500) */

static void call_begin(struct lane_job *job);
static void call_cancelled(struct lane_job *job);

void call_init(struct call *c, const char *method, const char *url, const char *body,
               size_t body_len, const char *const *headers)
{
    c->method = xstrdup(method);
    c->url = xstrdup(url);
    c->body = body ? xstrndup(body, body_len) : NULL;
    c->body_len = body ? body_len : 0;
    size_t n = 0;
    while (headers && headers[n])
        n++;
    c->headers = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        c->headers[i] = xstrdup(headers[i]);
    c->attempt = 0;
    c->rereads = 0;
    c->reread = NULL;
    c->before_send = NULL;
    c->no_blind_resend = false;
    c->on_attempt = NULL;
    c->maybe_applied = false;
    c->job.start = call_begin;
    c->job.cancel = call_cancelled;
    c->job.not_before = 0;
}

void call_release(struct call *c)
{
    free(c->method);
    free(c->url);
    free(c->body);
    for (size_t i = 0; c->headers && c->headers[i]; i++)
        free(c->headers[i]);
    free(c->headers);
    c->method = c->url = c->body = NULL;
    c->headers = NULL;
}

void call_start(struct call *c)
{
    c->attempt = 0;
    c->job.not_before = 0;
    lane_push(c->lane, &c->job);
}

static void finish(struct call *c, struct call_result *r)
{
    r->attempts = c->attempt;
    if (!r->cancelled && r->cls != EC_NONE)
        obs_error(c->tenant, c->resource, err_class_name(r->cls));
    if (!r->cancelled)
        obs_operation(c->ctx, c->tenant, c->resource, r->cls);
    r->maybe_applied = c->maybe_applied;
    c->done(c, r);
}

static void call_cancelled(struct lane_job *job)
{
    struct call *c = container_of(job, struct call, job);
    struct call_result r = {.cls = EC_TRANSIENT, .treatment = TR_RETRY_BACKOFF, .cancelled = true};
    snprintf(r.message, sizeof(r.message), "cancelled: shutting down");
    finish(c, &r);
}

static void on_http_done(const struct http_response *resp, void *arg);

static void call_begin(struct lane_job *job)
{
    struct call *c = container_of(job, struct call, job);
    c->attempt++;
    if (c->before_send)
        c->before_send(c);
    struct http_request req = {
        .method = c->method,
        .url = c->url,
        .headers = (const char *const *)c->headers,
        .body = c->body,
        .body_len = c->body_len,
        .timeout_ms = c->timeout_ms,
        .connect_timeout_ms = c->connect_timeout_ms,
        .max_response = c->max_response,
        .fresh_connect = c->no_blind_resend,
        .done = on_http_done,
        .arg = c,
    };
    int rc = http_submit(c->http, &req);
    if (rc < 0) {
        /* Could not even start (out of handles): a transient local failure. */
        struct http_response fake = {.curl_code = CURLE_FAILED_INIT,
                                     .body = (char *)"",
                                     .ratelimit_limit = -1,
                                     .ratelimit_remaining = -1};
        snprintf(fake.error, sizeof(fake.error), "request not started: %s", strerror(-rc));
        on_http_done(&fake, c);
    }
}

static struct log_fields fields_of(const struct call *c, enum err_class cls, long status)
{
    return (struct log_fields){.tenant = c->tenant,
                               .resource = c->resource,
                               .record_id = c->record_id,
                               .trace_id = c->trace_id,
                               .error_class = cls == EC_NONE ? NULL : err_class_name(cls),
                               .http_status = (int)status,
                               .attempt = c->attempt,
                               .delay_ms = LOG_NO_DELAY};
}

static void describe(const struct http_response *resp, enum err_class cls, char *out, size_t len)
{
    if (resp->too_large)
        snprintf(out, len, "response larger than the configured max_response_size");
    else if (resp->curl_code != CURLE_OK)
        snprintf(out, len, "%s",
                 resp->error[0] ? resp->error : curl_easy_strerror(resp->curl_code));
    else if (cls == EC_BAD_DATA)
        snprintf(out, len, "HTTP %ld with a body that is not the expected JSON", resp->status);
    else
        snprintf(out, len, "HTTP %ld: %.200s", resp->status, resp->body ? resp->body : "");
}

/* Feeds the breaker and wakes lanes sharing it when it changed state. */
static void account_breaker(struct call *c, enum err_class cls, int64_t now)
{
    if (!c->breaker)
        return;
    /* A late answer to a request sent before the breaker opened says
     * nothing about the service now: while half-open only the probe counts. */
    if (c->breaker->state == BREAKER_HALF_OPEN && !c->job.breaker_probe)
        return;
    enum breaker_event ev;
    if (cls == EC_NONE)
        ev = breaker_success(c->breaker, now);
    else if (err_class_trips_breaker(cls))
        ev = breaker_failure(c->breaker, now);
    else
        ev = breaker_neutral(c->breaker, now);
    if (ev != BREAKER_EV_NONE && c->lane->on_breaker_event)
        c->lane->on_breaker_event(c->lane, ev);
    if (ev != BREAKER_EV_NONE || c->breaker->state == BREAKER_CLOSED)
        lane_wake_all();
}

/*
 * How the request is named in logs.  A webhook URL is the customer's and
 * may carry a key in its query string, so only its part before the '?' is
 * shown; VOMO URLs are shown whole (their query is the page and filter).
 */
static int loggable_url_len(const struct call *c)
{
    size_t n = strlen(c->url);
    if (c->ctx == OP_WEBHOOK)
        n = strcspn(c->url, "?#");
    return n > 2000 ? 2000 : (int)n;
}

static int attempt_limit(const struct call *c, enum treatment tr)
{
    int max = c->backoff->max_attempts;
    if (tr == TR_RETRY_FEW && max > CALL_FEW_ATTEMPTS)
        return CALL_FEW_ATTEMPTS;
    return max;
}

static bool retryable(enum treatment tr)
{
    return tr == TR_RETRY_BACKOFF || tr == TR_RETRY_FEW || tr == TR_RETRY_THEN_GONE ||
           tr == TR_WAIT_RETRY_AFTER;
}

/*
 * Schedules another attempt when the treatment allows one and the budget
 * pays for it.  Returns true when the call went back into its lane.
 */
static bool maybe_retry(struct call *c, enum err_class cls, enum treatment tr, long status,
                        int64_t wait_ms, int64_t now)
{
    if (!retryable(tr) || c->lane->closing)
        return false;
    struct log_fields f = fields_of(c, cls, status);
    if (c->attempt >= attempt_limit(c, tr)) {
        log_emit(LOG_WARN, &f, "giving up after %d attempts", c->attempt);
        return false;
    }
    /* A 429 wait is VOMO's instruction, not our extra load: it is free. */
    if (tr != TR_WAIT_RETRY_AFTER && c->budget && !budget_try_spend(c->budget)) {
        log_emit(LOG_WARN, &f, "retry budget exhausted: not retrying (%d tokens left)",
                 c->budget->tokens);
        return false;
    }
    int64_t delay =
        tr == TR_WAIT_RETRY_AFTER ? wait_ms : backoff_delay(c->backoff, c->attempt, rand_u64());
    f.delay_ms = delay;
    log_emit(LOG_WARN, &f, "%s %.*s failed; retrying", c->method, loggable_url_len(c), c->url);
    c->job.not_before = now + delay;
    lane_push(c->lane, &c->job);
    return true;
}

void call_set_header(struct call *c, size_t index, const char *header)
{
    free(c->headers[index]);
    c->headers[index] = xstrdup(header);
}

void call_retry_with_body(struct call *c, const char *body, size_t len)
{
    free(c->body);
    c->body = xstrndup(body, len);
    c->body_len = len;
    c->job.not_before = 0;
    lane_push(c->lane, &c->job);
}

void call_abandon(struct call *c, const char *why)
{
    struct call_result r = {.cls = EC_CONFLICT, .treatment = TR_DEAD_LETTER, .status = 409};
    snprintf(r.message, sizeof(r.message), "conflict not resolved: %s", why);
    finish(c, &r);
}

/*
 * A 409 on a write: the first one hands the call to its owner's reread
 * hook (which re-reads, re-applies and sends again); a second one is final.
 * Returns true when the call was handed over.
 */
static bool maybe_reread(struct call *c, enum treatment *tr, long status)
{
    if (*tr != TR_REREAD_RETRY)
        return false;
    if (!c->reread || c->rereads > 0) {
        *tr = TR_DEAD_LETTER;
        return false;
    }
    c->rereads++;
    struct log_fields f = fields_of(c, EC_CONFLICT, status);
    log_emit(LOG_WARN, &f, "%s %.*s conflicted; re-reading the resource and trying once more",
             c->method, loggable_url_len(c), c->url);
    c->reread(c);
    return true;
}

static void on_http_done(const struct http_response *resp, void *arg)
{
    struct call *c = arg;
    int64_t now = clock_mono_ms();         /* breaker, rate gate and backoff measure durations */
    bool pause_probe = c->job.pause_probe; /* a retry or done may reuse or free the job */
    bool cancelled = resp->curl_code == CURLE_ABORTED_BY_CALLBACK || c->lane->closing;
    struct outcome o = {.ctx = c->ctx,
                        .curl_code = resp->curl_code,
                        .http_status = resp->status,
                        .too_large = resp->too_large,
                        .sent = resp->sent};
    if (!cancelled && resp->curl_code == CURLE_OK && resp->status >= 200 && resp->status < 300 &&
        c->check && c->check(c, resp) < 0)
        o.bad_body = true;
    enum err_class cls = classify(&o);
    enum treatment tr = treatment_for(cls, c->ctx);
    bool maybe = !cancelled && classify_maybe_applied(&o);
    c->maybe_applied = c->maybe_applied || maybe || (cancelled && resp->sent);
    int64_t wait_ms = 0;
    if (c->gate && !cancelled) {
        bool clamped = false;
        wait_ms = rategate_on_response(c->gate, now, clock_wall_ms(), resp->status,
                                       resp->retry_after, resp->ratelimit_limit,
                                       resp->ratelimit_remaining, c->job.gate_seq, &clamped);
        if (clamped) {
            struct log_fields f = fields_of(c, cls, resp->status);
            f.delay_ms = wait_ms;
            log_emit(LOG_WARN, &f, "Retry-After value '%s' is unusable; waiting %lld ms instead",
                     resp->retry_after ? resp->retry_after : "", (long long)wait_ms);
        }
    }
    if (!cancelled) {
        account_breaker(c, cls, now);
        obs_http_attempt(c->ctx == OP_WEBHOOK, c->tenant, c->resource, resp, wait_ms);
    }
    if (cls == EC_NONE && c->budget)
        budget_on_success(c->budget);
    if (!cancelled && c->on_attempt)
        c->on_attempt(c, resp, cls);
    /*
     * The lane admits the next job only once this outcome has been acted
     * on: after a 401 the owner stops the lane in done, and no request
     * with the refused token may leave before that.  The lane outlives
     * the call (done may free the call).
     */
    struct lane *lane = c->lane;
    bool blind = c->no_blind_resend && maybe;
    if (cancelled || ((blind || !maybe_retry(c, cls, tr, resp->status, wait_ms, now)) &&
                      !maybe_reread(c, &tr, resp->status))) {
        struct call_result r = {.cls = cls,
                                .treatment = tr,
                                .status = resp->status,
                                .resp = resp,
                                .cancelled = cancelled};
        if (cls != EC_NONE)
            describe(resp, cls, r.message, sizeof(r.message));
        finish(c, &r);
    }
    lane_done(lane, pause_probe);
}
