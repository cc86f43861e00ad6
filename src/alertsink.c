/*
 * alertsink.c - the I/O half of the alert targets (alertsink.h): queues the
 * evaluator's transitions, sends them from the loop through the sink's own
 * HTTP client, and schedules retries and Alertmanager's re-sends on two
 * timers.  Decisions (bodies, verdicts, delays, which message next) come
 * from alertsink_policy.c; this file reads the clocks and moves bytes.
 *
 * A webhook message lives in the queue from notify until a 2xx, a refusal
 * (any other 4xx) or its last try; the queue is bounded, and when full the
 * oldest message not in flight is pushed out (a storm's latest state
 * matters most), logged.  Alertmanager gets one POST at a time with every
 * alert the sink tracks; a transition arriving meanwhile is sent right
 * after it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alertsink.h"
#include "log.h"
#include "obs.h"
#include "util.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_RESEND_MS 60000
#define DEFAULT_ENDS_AHEAD_MS (4 * 60000)

void alertsink_opts_default(struct alertsink_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    o->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    o->retry = (struct backoff_policy){.base_ms = 1000, .max_ms = 300000, .max_attempts = 12};
    o->am_resend_ms = DEFAULT_RESEND_MS;
    o->am_ends_ahead_ms = DEFAULT_ENDS_AHEAD_MS;
    o->max_queue = ALERTSINK_MAX_QUEUE;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

static void secret_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static void opts_free(struct alertsink_opts *o)
{
    free((char *)o->webhook_url);
    secret_free((char *)o->webhook_secret);
    free((char *)o->alertmanager_url);
    free((char *)o->instance);
}

/* A deep copy of o; -EINVAL when a webhook has no secret. */
static int opts_copy(struct alertsink_opts *dst, const struct alertsink_opts *o)
{
    if (o->webhook_url && *o->webhook_url && (!o->webhook_secret || !*o->webhook_secret))
        return -EINVAL;
    *dst = *o;
    dst->webhook_url = dup_or_null(o->webhook_url);
    dst->webhook_secret = dst->webhook_url ? dup_or_null(o->webhook_secret) : NULL;
    dst->alertmanager_url = dup_or_null(o->alertmanager_url);
    dst->instance = xstrdup(o->instance && *o->instance ? o->instance : "vomo-sync");
    if (!dst->max_queue)
        dst->max_queue = ALERTSINK_MAX_QUEUE;
    return 0;
}

/* {url}/api/v2/alerts, without doubling a trailing slash. */
static char *am_endpoint(const char *url)
{
    if (!url)
        return NULL;
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    return xasprintf("%.*s/api/v2/alerts", (int)n, url);
}

bool alertsink_active(const struct alertsink *s)
{
    return s->opts.webhook_url || s->opts.alertmanager_url;
}

static void msg_free(struct alertsink_msg *m)
{
    free(m->name);
    free(m->body);
    free(m->key);
}

static void queue_remove(struct alertsink *s, size_t i)
{
    msg_free(&s->queue[i]);
    memmove(&s->queue[i], &s->queue[i + 1], (s->nqueue - i - 1) * sizeof(*s->queue));
    s->nqueue--;
    obs_alert_queue(s->nqueue);
}

static void am_alert_free(struct alertsink_am_alert *a)
{
    free(a->name);
    free(a->tenant);
    free(a->resource);
    free(a->severity);
    free(a->summary);
}

static void am_forget_all(struct alertsink *s)
{
    for (size_t i = 0; i < s->nam; i++)
        am_alert_free(&s->am[i]);
    s->nam = 0;
    s->am_next_at = 0;
    s->am_failures = 0;
}

/* ---- the webhook ---- */

static void wh_pump(struct alertsink *s);

/* One POST in flight; the message is found again by episode and try, as
 * it may have been pushed out of the queue meanwhile. */
struct wh_send {
    struct alertsink *s;
    int64_t episode;
    int tries;
};

static struct alertsink_msg *wh_find(struct alertsink *s, const struct wh_send *w, size_t *idx)
{
    for (size_t i = 0; i < s->nqueue; i++)
        if (s->queue[i].in_flight && s->queue[i].episode == w->episode &&
            s->queue[i].tries == w->tries) {
            *idx = i;
            return &s->queue[i];
        }
    return NULL;
}

static void wh_log_failure(const struct alertsink_msg *m, const struct http_response *r,
                           const char *what, int64_t delay)
{
    struct log_fields f = {.http_status = (int)r->status, .attempt = m->tries, .delay_ms = delay};
    enum log_level lvl = delay >= 0 ? LOG_WARN : LOG_ERROR;
    if (r->status)
        log_emit(lvl, &f, "alert webhook: %s %s (HTTP %ld)", m->name, what, r->status);
    else
        log_emit(lvl, &f, "alert webhook: %s %s (no answer: %s)", m->name, what,
                 r->error[0] ? r->error : "transfer failed");
}

/* The answer to one POST: done, refused, or a retry scheduled. */
static void on_wh_done(const struct http_response *r, void *arg)
{
    struct wh_send *w = arg;
    struct alertsink *s = w->s;
    size_t i;
    struct alertsink_msg *m = wh_find(s, w, &i);
    s->wh_in_flight--;
    free(w);
    if (!m || s->closing)
        return;
    m->in_flight = false;
    m->last_status = r->status;
    enum alertsink_verdict v = alertsink_verdict(r->curl_code, r->status);
    if (!s->opts.webhook_url) {
        obs_alert_notification("webhook", "dropped"); /* the webhook was removed */
        queue_remove(s, i);
    } else if (v == ALERTSINK_DONE) {
        s->wh_sent++;
        obs_alert_notification("webhook", "sent");
        log_debug("alert webhook: %s delivered (HTTP %ld)", m->name, r->status);
        queue_remove(s, i);
    } else if (v == ALERTSINK_GIVE_UP || backoff_exhausted(&s->opts.retry, m->tries)) {
        wh_log_failure(m, r,
                       v == ALERTSINK_GIVE_UP ? "refused by the receiver, not sent again"
                                              : "not delivered after its last try, dropped",
                       LOG_NO_DELAY);
        s->wh_dropped++;
        obs_alert_notification("webhook", "dropped");
        queue_remove(s, i);
    } else {
        int64_t d = alertsink_retry_delay(&s->opts.retry, m->tries, rand_u64(), r->retry_after,
                                          clock_wall_ms());
        m->next_at = clock_mono_ms() + d;
        obs_alert_notification("webhook", "retried");
        wh_log_failure(m, r, "not delivered, retrying", d);
    }
    wh_pump(s);
}

/* Signs with the secret in force now and submits; a request libcurl will
 * not even start is retried later like a failed one. */
static void wh_send(struct alertsink *s, struct alertsink_msg *m)
{
    size_t len = strlen(m->body);
    char *sig = alertsink_signature(s->opts.webhook_secret, m->body, len);
    char *sig_h = xasprintf("X-Vomo-Sync-Signature: %s", sig);
    char *key_h = xasprintf("Idempotency-Key: %s", m->key);
    const char *headers[] = {"Content-Type: application/json", sig_h, key_h, NULL};
    struct wh_send *w = xcalloc(1, sizeof(*w));
    m->tries++;
    *w = (struct wh_send){.s = s, .episode = m->episode, .tries = m->tries};
    struct http_request req = {
        .method = "POST",
        .url = s->opts.webhook_url,
        .headers = headers,
        .body = m->body,
        .body_len = len,
        .timeout_ms = s->opts.timeout_ms,
        .connect_timeout_ms = s->opts.connect_timeout_ms,
        .max_response = ALERTSINK_MAX_RESPONSE,
        .done = on_wh_done,
        .arg = w,
    };
    m->in_flight = true;
    s->wh_in_flight++;
    if (http_submit(&s->http, &req) < 0) {
        m->in_flight = false;
        s->wh_in_flight--;
        m->next_at = clock_mono_ms() + backoff_delay(&s->opts.retry, m->tries, rand_u64());
        obs_alert_notification("webhook", "retried");
        free(w);
    }
    free(sig);
    free(sig_h);
    free(key_h);
}

static void on_wh_timer(uv_timer_t *t)
{
    wh_pump(t->data);
}

/* Sends what is due, up to the in-flight cap, and arms the timer for the
 * next message that waits (at the cap, the next answer pumps again). */
static void wh_pump(struct alertsink *s)
{
    if (s->closing || !s->opts.webhook_url)
        return;
    int64_t wake = INT64_MAX;
    long i;
    while (s->wh_in_flight < ALERTSINK_MAX_IN_FLIGHT &&
           (i = alertsink_pick(s->queue, s->nqueue, clock_mono_ms(), &wake)) >= 0)
        wh_send(s, &s->queue[i]);
    uv_timer_stop(&s->wh_timer);
    if (s->wh_in_flight >= ALERTSINK_MAX_IN_FLIGHT || wake == INT64_MAX)
        return;
    int64_t d = wake - clock_mono_ms();
    uv_timer_start(&s->wh_timer, on_wh_timer, d > 0 ? (uint64_t)d : 0, 0);
}

static char *event_name(const struct alert_event *ev)
{
    bool t = ev->tenant && *ev->tenant, r = ev->resource && *ev->resource;
    return xasprintf("%s %s%s%s%s%s", ev->name ? ev->name : "?", ev->state ? ev->state : "?",
                     t ? " for " : "", t ? ev->tenant : "", r ? "/" : "", r ? ev->resource : "");
}

/* Queues one transition; a full queue pushes its oldest waiting message
 * out. */
static void wh_enqueue(struct alertsink *s, const struct alert_event *ev)
{
    if (s->nqueue >= s->opts.max_queue) {
        for (size_t i = 0; i < s->nqueue; i++)
            if (!s->queue[i].in_flight) {
                log_warn("alert webhook: %zu messages wait already: %s dropped unsent", s->nqueue,
                         s->queue[i].name);
                s->wh_dropped++;
                obs_alert_notification("webhook", "dropped");
                queue_remove(s, i);
                break;
            }
        if (s->nqueue >= s->opts.max_queue)
            return;
    }
    s->queue = xrealloc(s->queue, (s->nqueue + 1) * sizeof(*s->queue));
    s->queue[s->nqueue++] = (struct alertsink_msg){
        .episode = ev->id,
        .name = event_name(ev),
        .body = alertsink_webhook_body(ev, s->opts.instance),
        .key = alertsink_idempotency_key(ev, s->opts.instance),
        .next_at = clock_mono_ms(),
    };
    obs_alert_queue(s->nqueue);
    uv_timer_stop(&s->wh_timer);
    uv_timer_start(&s->wh_timer, on_wh_timer, 0, 0);
}

/* ---- Alertmanager ---- */

static void on_am_timer(uv_timer_t *t);

/* The next send at `at` (monotonic); none while one is in flight (its
 * answer schedules) or when nothing is tracked. */
static void am_schedule(struct alertsink *s, int64_t at)
{
    uv_timer_stop(&s->am_timer);
    s->am_next_at = s->nam ? at : 0;
    if (s->closing || !s->am_endpoint || s->am_in_flight || !s->nam)
        return;
    int64_t d = at - clock_mono_ms();
    uv_timer_start(&s->am_timer, on_am_timer, d > 0 ? (uint64_t)d : 0, 0);
}

/* Alerts sent as resolved and accepted are forgotten. */
static void am_drop_resolved(struct alertsink *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->nam; i++) {
        if (s->am[i].sending_resolved)
            am_alert_free(&s->am[i]);
        else
            s->am[k++] = s->am[i];
    }
    s->nam = k;
}

static void am_log_failure(struct alertsink *s, const struct http_response *r, int64_t delay)
{
    struct log_fields f = {
        .http_status = (int)r->status, .attempt = s->am_failures, .delay_ms = delay};
    enum log_level lvl = s->am_failures == 1 ? LOG_WARN : LOG_DEBUG;
    if (r->status)
        log_emit(lvl, &f, "alertmanager: POST /api/v2/alerts answered HTTP %ld; sending again",
                 r->status);
    else
        log_emit(lvl, &f, "alertmanager: POST /api/v2/alerts got no answer (%s); sending again",
                 r->error[0] ? r->error : "transfer failed");
}

static void on_am_done(const struct http_response *r, void *arg)
{
    struct alertsink *s = arg;
    s->am_in_flight = false;
    if (s->closing || !s->am_endpoint)
        return;
    bool ok = alertsink_verdict(r->curl_code, r->status) == ALERTSINK_DONE;
    int64_t now = clock_mono_ms();
    if (ok) {
        if (s->am_failures)
            log_info("alertmanager: reachable again after %d failed send(s)", s->am_failures);
        s->am_failures = 0;
        s->am_sent++;
        obs_alert_notification("alertmanager", "sent");
        am_drop_resolved(s);
    } else {
        s->am_failures++;
        obs_alert_notification("alertmanager", "retried");
    }
    int64_t next = alertsink_am_next(ok, s->am_failures, now, s->opts.am_resend_ms, &s->opts.retry,
                                     rand_u64(), r->retry_after, clock_wall_ms());
    if (!ok)
        am_log_failure(s, r, next - now);
    am_schedule(s, s->am_dirty ? now : next);
    s->am_dirty = false;
}

/* One POST with every tracked alert. */
static void am_send(struct alertsink *s)
{
    if (s->closing || !s->am_endpoint || !s->nam)
        return;
    if (s->am_in_flight) {
        s->am_dirty = true;
        return;
    }
    for (size_t i = 0; i < s->nam; i++)
        s->am[i].sending_resolved = s->am[i].resolved_at > 0;
    char *body = alertsink_am_body(s->am, s->nam, s->opts.instance, clock_wall_ms(),
                                   s->opts.am_ends_ahead_ms);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct http_request req = {
        .method = "POST",
        .url = s->am_endpoint,
        .headers = headers,
        .body = body,
        .body_len = strlen(body),
        .timeout_ms = s->opts.timeout_ms,
        .connect_timeout_ms = s->opts.connect_timeout_ms,
        .max_response = ALERTSINK_MAX_RESPONSE,
        .done = on_am_done,
        .arg = s,
    };
    s->am_in_flight = true;
    s->am_dirty = false;
    if (http_submit(&s->http, &req) < 0) {
        s->am_in_flight = false;
        s->am_failures++;
        obs_alert_notification("alertmanager", "retried");
        am_schedule(s, clock_mono_ms() + backoff_delay(&s->opts.retry, s->am_failures, rand_u64()));
    }
    free(body);
}

static void on_am_timer(uv_timer_t *t)
{
    am_send(t->data);
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v ? v : "");
}

/* Tracks one transition (a replayed firing too) and sends soon, so the
 * transitions of one evaluation go out in one POST. */
static void am_note(struct alertsink *s, const struct alert_event *ev)
{
    struct alertsink_am_alert *a = NULL;
    for (size_t i = 0; i < s->nam && !a; i++)
        if (s->am[i].id == ev->id)
            a = &s->am[i];
    if (!a) {
        if (s->nam >= ALERTSINK_AM_MAX_ALERTS) {
            log_warn("alertmanager: %zu alerts tracked already: %s %s not sent", s->nam,
                     ev->name ? ev->name : "?", ev->state ? ev->state : "?");
            obs_alert_notification("alertmanager", "dropped");
            return;
        }
        s->am = xrealloc(s->am, (s->nam + 1) * sizeof(*s->am));
        a = &s->am[s->nam++];
        memset(a, 0, sizeof(*a));
        a->id = ev->id;
    }
    set_str(&a->name, ev->name);
    set_str(&a->tenant, ev->tenant);
    set_str(&a->resource, ev->resource);
    set_str(&a->severity, ev->severity);
    set_str(&a->summary, ev->summary);
    a->started_at = ev->started_at;
    bool resolved = ev->state && strcmp(ev->state, "resolved") == 0;
    a->resolved_at = !resolved ? 0 : ev->resolved_at > 0 ? ev->resolved_at : clock_wall_ms() / 1000;
    a->sending_resolved = false;
    if (s->am_in_flight)
        s->am_dirty = true;
    else
        am_schedule(s, clock_mono_ms());
}

/* ---- the sink ---- */

void alertsink_notify(void *ctx, const struct alert_event *ev)
{
    struct alertsink *s = ctx;
    if (s->closing || !ev)
        return;
    if (s->opts.webhook_url && !ev->replay)
        wh_enqueue(s, ev);
    if (s->am_endpoint)
        am_note(s, ev);
}

int alertsink_init(struct alertsink *s, uv_loop_t *loop, const struct alertsink_opts *o)
{
    memset(s, 0, sizeof(*s));
    if (opts_copy(&s->opts, o) < 0)
        return -EINVAL;
    int rc = http_init(&s->http, loop);
    if (rc < 0) {
        opts_free(&s->opts);
        return rc;
    }
    s->loop = loop;
    s->am_endpoint = am_endpoint(s->opts.alertmanager_url);
    uv_timer_init(loop, &s->wh_timer);
    uv_timer_init(loop, &s->am_timer);
    s->wh_timer.data = s->am_timer.data = s;
    return 0;
}

int alertsink_reconfigure(struct alertsink *s, const struct alertsink_opts *o)
{
    struct alertsink_opts n;
    if (s->closing || opts_copy(&n, o) < 0)
        return -EINVAL;
    if (!n.webhook_url)
        for (size_t i = s->nqueue; i-- > 0;)
            if (!s->queue[i].in_flight) {
                obs_alert_notification("webhook", "dropped");
                queue_remove(s, i);
            }
    char *endpoint = am_endpoint(n.alertmanager_url);
    bool am_changed = (endpoint == NULL) != (s->am_endpoint == NULL) ||
                      (endpoint && strcmp(endpoint, s->am_endpoint) != 0);
    free(s->am_endpoint);
    s->am_endpoint = endpoint;
    opts_free(&s->opts);
    s->opts = n;
    if (!endpoint)
        am_forget_all(s);
    if (am_changed && endpoint) {
        s->am_failures = 0;
        s->am_dirty = s->am_in_flight; /* that POST went to the old one */
        am_schedule(s, clock_mono_ms());
    }
    if (!endpoint)
        uv_timer_stop(&s->am_timer);
    wh_pump(s);
    return 0;
}

static void sink_free(struct alertsink *s)
{
    for (size_t i = 0; i < s->nqueue; i++)
        msg_free(&s->queue[i]);
    free(s->queue);
    s->queue = NULL;
    s->nqueue = 0;
    obs_alert_queue(0);
    am_forget_all(s);
    free(s->am);
    s->am = NULL;
    free(s->am_endpoint);
    s->am_endpoint = NULL;
    opts_free(&s->opts);
    memset(&s->opts, 0, sizeof(s->opts));
}

static void handle_closed(struct alertsink *s)
{
    if (--s->open_handles > 0)
        return;
    sink_free(s);
    if (s->on_closed)
        s->on_closed(s);
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void on_http_closed(struct http_client *c)
{
    handle_closed(container_of(c, struct alertsink, http));
}

void alertsink_close(struct alertsink *s, void (*on_closed)(struct alertsink *s))
{
    if (s->closing)
        return;
    s->closing = true;
    s->on_closed = on_closed;
    size_t waiting = 0;
    for (size_t i = 0; i < s->nqueue; i++)
        waiting += !s->queue[i].in_flight;
    if (s->nqueue)
        log_warn("alert webhook: %zu message(s) not delivered at shutdown (%zu in flight, "
                 "%zu waiting)",
                 s->nqueue, s->nqueue - waiting, waiting);
    s->open_handles = 3;
    uv_close((uv_handle_t *)&s->wh_timer, on_timer_closed);
    uv_close((uv_handle_t *)&s->am_timer, on_timer_closed);
    http_close(&s->http, on_http_closed);
}
