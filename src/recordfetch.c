/*
 * recordfetch.c - one record of a tenant read from VOMO now and applied
 * (recordfetch.h).  The read and its apply are the scan module's
 * (scan_fetch_new: a reconciliation's read-back of one id); this file adds
 * what an owner outside the engine needs around it: the checks before
 * anything is sent (tenant, resource, id, VOMO's breaker, a refused
 * token), a callback that never runs inside recordfetch_start(), a
 * deadline, the first answer for owners that cannot wait for retries, and
 * cancellation by an owner that went away.
 */
#include "recordfetch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "engine.h"
#include "obs.h"
#include "scan.h"
#include "tenant.h"
#include "workgate.h"

/* Why a fetch was answered without a read. */
enum pre { PRE_NONE, PRE_BREAKER, PRE_AUTH };

struct recordfetch {
    struct engine *e;
    struct tenant *t;
    struct scan *scan; /* NULL when answered without a read */
    enum resource res;
    uv_timer_t timer; /* the deadline, or a deferred callback */
    recordfetch_cb cb;
    void *arg;
    struct recordfetch_opts opts;
    enum pre pre;
    bool starting;  /* inside recordfetch_start: the callback must wait */
    bool scan_done; /* the read has ended (or never began) */
    bool deadline;  /* opts.timeout_ms passed with the read still going */
    bool reported;  /* the callback ran, or the owner cancelled */
    bool closing;
    char status[16]; /* the scan's end: complete, failed, aborted */
};

static int open_fetches;

bool recordfetch_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 127)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

const char *recordfetch_outcome_name(enum recordfetch_outcome o)
{
    static const char *const names[] = {"none", "applied", "skipped", "deleted",
                                        "gone", "failed",  "pending"};
    return (size_t)o < ARRAY_SIZE(names) ? names[o] : "none";
}

int recordfetch_open_count(void)
{
    return open_fetches;
}

static void on_closed(uv_handle_t *h)
{
    struct recordfetch *f = h->data;
    struct engine *e = f->e;
    struct tenant *t = f->t;
    if (f->scan)
        scan_free(f->scan);
    free(f);
    open_fetches--;
    e->busy--;
    tenant_unbusy(t);
    engine_idle_check(e);
}

/* Frees the fetch once its read has ended and its owner has been told. */
static void maybe_close(struct recordfetch *f)
{
    if (f->closing || !f->scan_done || !f->reported || f->starting)
        return;
    f->closing = true;
    uv_close((uv_handle_t *)&f->timer, on_closed);
}

/* What the counts of a finished read say happened to the record. */
static enum recordfetch_outcome final_outcome(const struct scan_fetch_answer *a)
{
    if (a->deleted > 0)
        return RECORDFETCH_DELETED;
    if (a->applied > 0)
        return RECORDFETCH_APPLIED;
    if (a->skipped > 0)
        return RECORDFETCH_SKIPPED;
    if (a->failed > 0)
        return RECORDFETCH_FAILED;
    if (a->cls == EC_NOT_FOUND && !a->was_held)
        return RECORDFETCH_GONE;
    return RECORDFETCH_NONE;
}

/* What an answer says while the read goes on (retries, the apply). */
static enum recordfetch_outcome interim_outcome(const struct scan_fetch_answer *a)
{
    if (!a->answered)
        return RECORDFETCH_NONE;
    if (a->cls == EC_NONE)
        return RECORDFETCH_PENDING;
    if (a->cls == EC_NOT_FOUND)
        return a->was_held ? RECORDFETCH_PENDING : RECORDFETCH_GONE;
    return RECORDFETCH_NONE;
}

static void fill_answer(struct recordfetch *f, struct recordfetch_result *r, char code[8])
{
    const struct scan_fetch_answer *a = scan_fetch_answer(f->scan);
    r->attempts = a->attempts;
    r->message = a->message;
    if (!a->answered) {
        r->cls = EC_TRANSIENT;
        r->cancelled = f->scan_done;
        r->timed_out = f->deadline;
        r->unreachable = !f->scan_done;
        r->message = f->scan_done ? "cancelled: the tenant closed or vomo-sync stops"
                                  : "VOMO did not answer in time";
        return;
    }
    r->cls = a->cls;
    if (a->curl_code == CURLE_OK) {
        r->status = a->status;
        r->body = a->body;
        r->body_len = a->body_len;
    } else {
        r->net_error = obs_code(0, a->curl_code, code);
    }
    r->unreachable = a->curl_code != CURLE_OK || a->status >= 500;
    r->auth_failed = a->status == 401;
    r->timed_out = f->deadline;
    r->cancelled = f->scan_done && strcmp(f->status, "aborted") == 0;
}

/* Tells the owner what is known now (once). */
static void report(struct recordfetch *f)
{
    if (f->reported)
        return;
    f->reported = true;
    char code[8];
    struct recordfetch_result r = {.message = ""};
    if (f->pre == PRE_BREAKER) {
        r.cls = EC_TRANSIENT;
        r.breaker_open = r.unreachable = true;
        r.message = "VOMO's circuit breaker is open: nothing was sent";
    } else if (f->pre == PRE_AUTH) {
        r.cls = EC_AUTH;
        r.auth_failed = true;
        r.message = "the tenant's token was refused (auth_failed): nothing was sent";
    } else {
        fill_answer(f, &r, code);
        const struct scan_fetch_answer *a = scan_fetch_answer(f->scan);
        r.outcome = f->scan_done ? final_outcome(a) : interim_outcome(a);
        if (!f->scan_done &&
            workgate_breaker(&f->e->vomo_breaker, clock_mono_ms()) != WORKGATE_OPEN)
            r.breaker_open = true;
    }
    f->cb(&r, f->arg);
}

static void on_timer(uv_timer_t *timer)
{
    struct recordfetch *f = timer->data;
    if (!f->scan_done)
        f->deadline = true;
    report(f);
    maybe_close(f);
}

static void on_answer(struct scan *s)
{
    struct recordfetch *f = scan_fetch_arg(s);
    const struct scan_fetch_answer *a = scan_fetch_answer(s);
    /* A record in hand is applied next: the owner hears of it applied. */
    if (f->opts.first_answer && !f->starting && a->cls != EC_NONE)
        report(f);
}

static void on_scan_done(struct scan *s, const char *status)
{
    struct recordfetch *f = scan_fetch_arg(s);
    snprintf(f->status, sizeof(f->status), "%s", status);
    f->scan_done = true;
    if (strcmp(status, "aborted") != 0)
        obs_record_fetch(f->t->name, resource_name(f->res),
                         recordfetch_outcome_name(final_outcome(scan_fetch_answer(s))));
    if (f->starting)
        return; /* recordfetch_start calls back from the loop */
    report(f);
    maybe_close(f);
}

/* Resolves the tenant and resource; 0 or a negative errno. */
static int find_target(struct engine *e, const char *tenant, const char *resource, const char *id,
                       struct tenant **t, enum resource *res)
{
    if (!recordfetch_id_valid(id))
        return -EINVAL;
    if (e->stopping)
        return -ESHUTDOWN;
    *t = tenant ? engine_tenant(e, tenant) : NULL;
    if (!*t || resource_parse(resource, res) < 0 || !((*t)->resources & RES_BIT(*res)))
        return -ENOENT;
    if ((*t)->closing || (*t)->vomo_lane.closing ||
        ((*t)->vomo_lane.stopped && (*t)->status == TENANT_OK))
        return -ESHUTDOWN;
    return 0;
}

int recordfetch_start(struct engine *e, const char *tenant, const char *resource, const char *id,
                      const struct recordfetch_opts *opts, recordfetch_cb cb, void *arg,
                      struct recordfetch **out)
{
    struct tenant *t = NULL;
    enum resource res = RES_USERS;
    int rc = find_target(e, tenant, resource, id, &t, &res);
    if (rc < 0)
        return rc;
    struct recordfetch *f = xcalloc(1, sizeof(*f));
    f->e = e;
    f->t = t;
    f->res = res;
    f->cb = cb;
    f->arg = arg;
    f->opts = opts ? *opts : (struct recordfetch_opts){0};
    uv_timer_init(e->loop, &f->timer);
    f->timer.data = f;
    open_fetches++;
    e->busy++;
    t->busy++;
    if (out)
        *out = f;
    if (t->status != TENANT_OK)
        f->pre = PRE_AUTH;
    else if (workgate_breaker(&e->vomo_breaker, clock_mono_ms()) == WORKGATE_SHUT)
        f->pre = PRE_BREAKER;
    if (f->pre != PRE_NONE) {
        f->scan_done = true;
        uv_timer_start(&f->timer, on_timer, 0, 0);
        return 0;
    }
    struct scan_fetch_opts so = {
        .timeout_ms = f->opts.timeout_ms, .on_answer = on_answer, .arg = f};
    f->scan = scan_fetch_new(t, res, id, &so, on_scan_done);
    f->starting = true;
    scan_fetch_run(f->scan);
    f->starting = false;
    if (f->scan_done)
        uv_timer_start(&f->timer, on_timer, 0, 0);
    else if (f->opts.timeout_ms > 0)
        uv_timer_start(&f->timer, on_timer, (uint64_t)f->opts.timeout_ms, 0);
    return 0;
}

void recordfetch_cancel(struct recordfetch *f)
{
    if (!f || f->reported)
        return;
    f->reported = true;
    uv_timer_stop(&f->timer);
    maybe_close(f);
}
