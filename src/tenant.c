/*
 * tenant.c - the runtime of one tenant (see tenant.h): its schedule slots,
 * its stop on 401 and resumption when the token file changes, the pause of
 * a misconfigured webhook destination, and its orderly close.
 */
#include "tenant.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "dest.h"
#include "engine.h"
#include "log.h"
#include "scan.h"
#include "store.h"
#include "util.h"

#define TENANT_WATCH_MS 2000 /* how often token and secret files are re-read */

static void publish_state(struct tenant *t, const char *status, const char *reason)
{
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    if (store_tenant_state_set(t->eng->store, t->name, status, reason, now) < 0)
        log_warn("could not record the state of tenant %s: %s", t->name,
                 store_errmsg(t->eng->store));
}

/*
 * Re-reads a token or secret file with the same rules as the configuration
 * (trimmed, one value, no control characters).  NULL when it cannot be
 * used; the reason is logged once per distinct problem, not every poll.
 */
static char *read_secret(struct tenant *t, const char *path, char **last_problem)
{
    char *value = NULL, *why = NULL, *warning = NULL;
    int rc = cfg_secret_read(path, &value, &why, &warning);
    free(warning); /* said at load time already */
    if (rc < 0) {
        if (!*last_problem || strcmp(*last_problem, why) != 0) {
            struct log_fields f = {.tenant = t->name, .delay_ms = LOG_NO_DELAY};
            log_emit(LOG_ERROR, &f, "%s (the previous value stays in use)", why);
            free(*last_problem);
            *last_problem = why;
        } else {
            free(why);
        }
        return NULL;
    }
    free(*last_problem);
    *last_problem = NULL;
    log_set_secret(path, value);
    return value;
}

static void set_token(struct tenant *t, char *token)
{
    free(t->token);
    free(t->auth_header);
    t->token = token;
    t->auth_header = xasprintf("Authorization: Bearer %s", token);
    t->token_gen++;
}

static void on_breaker(struct lane *l, enum breaker_event ev)
{
    struct tenant *t = l->data;
    engine_breaker_changed(t->eng, l->breaker_name, l->breaker, ev, NULL);
}

static void on_watch(uv_timer_t *timer)
{
    tenant_refresh(container_of(timer, struct tenant, watch), false);
}

static void on_slot_timer(uv_timer_t *timer);

struct tenant *tenant_new(struct engine *eng, const struct tenant_cfg *tc)
{
    struct tenant *t = xcalloc(1, sizeof(*t));
    const struct config *cfg = eng->cfg;
    t->eng = eng;
    t->name = xstrdup(tc->name);
    t->token_file = xstrdup(tc->token_file);
    set_token(t, xstrdup(tc->token ? tc->token : ""));
    t->resources = tc->resources;
    t->dest_kind = tc->destination;
    t->mode = tc->checkpoint_mode;
    if (tc->destination == DEST_WEBHOOK) {
        t->webhook_url = xstrdup(tc->webhook_url);
        t->secret_file = xstrdup(tc->webhook_secret_file);
        t->secret = xstrdup(tc->webhook_secret ? tc->webhook_secret : "");
    }
    snprintf(t->lane_name, sizeof(t->lane_name), "vomo:%s", t->name);
    snprintf(t->dest_lane_name, sizeof(t->dest_lane_name), "destination:%s", t->name);
    snprintf(t->dest_breaker_name, sizeof(t->dest_breaker_name), "destination:%s", t->name);
    lane_init(&t->vomo_lane, eng->loop, t->lane_name, cfg->max_concurrency);
    t->vomo_lane.breaker = &eng->vomo_breaker;
    t->vomo_lane.breaker_name = "vomo";
    t->vomo_lane.gate = &t->gate;
    t->vomo_lane.on_breaker_event = on_breaker;
    t->vomo_lane.data = t;
    rategate_init(&t->gate);
    budget_init(&t->budget, cfg->retry_budget, cfg->retry_budget_cost, cfg->retry_budget_refill);
    breaker_init(&t->dest_breaker, cfg->breaker_failure_threshold, cfg->breaker_open_timeout_ms);
    lane_init(&t->dest_lane, eng->loop, t->dest_lane_name, cfg->webhook_max_concurrency);
    t->dest_lane.breaker = &t->dest_breaker;
    t->dest_lane.breaker_name = t->dest_breaker_name;
    t->dest_lane.on_breaker_event = on_breaker;
    t->dest_lane.data = t;
    t->dest = tc->destination == DEST_WEBHOOK ? dest_webhook_new(t) : dest_sqlite_new(t);
    for (int r = 0; r < RES_COUNT; r++) {
        struct slot *s = &t->slots[r];
        s->tenant = t;
        s->res = (enum resource)r;
        uv_timer_init(eng->loop, &s->timer);
    }
    uv_timer_init(eng->loop, &t->watch);
    t->open_handles = RES_COUNT + 3; /* slots, watch, two lane timers */
    return t;
}

void tenant_start(struct tenant *t)
{
    publish_state(t, "ok", NULL);
    for (int r = 0; r < RES_COUNT; r++)
        if (t->resources & RES_BIT(r))
            slot_schedule(&t->slots[r], 0); /* the first scan after start is immediate */
    uv_timer_start(&t->watch, on_watch, TENANT_WATCH_MS, TENANT_WATCH_MS);
}

static bool str_differs(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") != 0;
}

bool tenant_cfg_changed(const struct tenant *t, const struct tenant_cfg *tc)
{
    return str_differs(t->token_file, tc->token_file) || t->resources != tc->resources ||
           t->dest_kind != tc->destination || t->mode != tc->checkpoint_mode ||
           str_differs(t->webhook_url, tc->webhook_url) ||
           str_differs(t->secret_file, tc->webhook_secret_file);
}

static void resume(struct tenant *t, const char *why)
{
    struct log_fields f = {.tenant = t->name, .delay_ms = LOG_NO_DELAY};
    if (t->status == TENANT_AUTH_FAILED) {
        t->status = TENANT_OK;
        lane_restart(&t->vomo_lane);
        publish_state(t, "ok", why);
        log_emit(LOG_INFO, &f, "tenant resumed: %s", why);
    }
    for (int r = 0; r < RES_COUNT; r++) {
        struct slot *s = &t->slots[r];
        if (!(t->resources & RES_BIT(r)))
            continue;
        if (s->forbidden)
            log_emit(LOG_INFO, &f, "%s: syncing resumes (%s)", resource_name(s->res), why);
        s->forbidden = false;
        if (!s->scan)
            slot_schedule(s, 0);
    }
}

void tenant_refresh(struct tenant *t, bool forced)
{
    if (t->closing)
        return;
    char *token = read_secret(t, t->token_file, &t->token_problem);
    bool token_changed = token && strcmp(token, t->token) != 0;
    if (token_changed)
        set_token(t, token);
    else
        free(token);
    bool stopped = t->status == TENANT_AUTH_FAILED;
    for (int r = 0; r < RES_COUNT; r++)
        stopped = stopped || t->slots[r].forbidden;
    if (stopped && (token_changed || forced))
        resume(t, token_changed ? "the token file changed" : "reload");
    if (t->dest_kind != DEST_WEBHOOK)
        return;
    char *secret = read_secret(t, t->secret_file, &t->secret_problem);
    bool secret_changed = secret && strcmp(secret, t->secret) != 0;
    if (secret_changed) {
        free(t->secret);
        t->secret = secret;
    } else {
        free(secret);
    }
    if (t->dest_paused && (secret_changed || forced)) {
        struct log_fields f = {.tenant = t->name, .delay_ms = LOG_NO_DELAY};
        log_emit(LOG_INFO, &f, "destination probed again now (%s)",
                 secret_changed ? "the secret file changed" : "reload");
        lane_pause(&t->dest_lane, clock_mono_ms()); /* one probe, now */
    }
}

void tenant_authorize(struct call *c)
{
    struct tenant *t = c->arg;
    call_set_header(c, 0, t->auth_header);
    c->sent_tag = t->token_gen;
}

void tenant_auth_failed(struct tenant *t, uint64_t gen, const char *trace_id, const char *message)
{
    if (t->status == TENANT_AUTH_FAILED)
        return;
    if (gen != t->token_gen) {
        struct log_fields f = {.tenant = t->name, .trace_id = trace_id, .delay_ms = LOG_NO_DELAY};
        log_emit(LOG_INFO, &f,
                 "a request sent with the previous token was refused; the new token is in use");
        return;
    }
    t->status = TENANT_AUTH_FAILED;
    struct log_fields f = {.tenant = t->name,
                           .trace_id = trace_id,
                           .error_class = "auth",
                           .http_status = 401,
                           .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_ERROR, &f,
             "VOMO rejected the token of tenant %s (%s): the tenant is stopped. Put a valid token "
             "in %s; vomo-sync resumes by itself when the file changes (or on SIGHUP)",
             t->name, message, t->token_file);
    publish_state(t, "auth_failed", "VOMO answered 401: replace the token file");
    lane_stop(&t->vomo_lane); /* nothing more is sent with this token */
}

void tenant_dest_pause(struct tenant *t, long status, const char *message)
{
    int64_t until = clock_mono_ms() + t->eng->cfg->breaker_open_timeout_ms;
    if (!t->dest_paused) {
        const char *cls = status == 401 ? "auth" : status == 403 ? "forbidden" : "not_found";
        struct log_fields f = {.tenant = t->name,
                               .error_class = cls,
                               .http_status = (int)status,
                               .delay_ms = t->eng->cfg->breaker_open_timeout_ms};
        log_emit(LOG_ERROR, &f,
                 "webhook %.*s answered %ld (%s): the endpoint or its secret is misconfigured. "
                 "Deliveries of tenant %s are paused (records wait, nothing is lost) and probed "
                 "again every breaker.open_timeout, or at once when %s changes or on SIGHUP",
                 (int)strcspn(t->webhook_url, "?#"), t->webhook_url, status, message, t->name,
                 t->secret_file);
        publish_state(t, "destination_paused", message);
    }
    t->dest_paused = true;
    lane_pause(&t->dest_lane, until);
}

void tenant_dest_ok(struct tenant *t)
{
    if (!t->dest_paused)
        return;
    t->dest_paused = false;
    struct log_fields f = {.tenant = t->name, .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_INFO, &f, "webhook destination accepts deliveries again");
    publish_state(t, t->status == TENANT_AUTH_FAILED ? "auth_failed" : "ok", NULL);
    lane_resume(&t->dest_lane);
}

/* ---- schedule ---- */

void slot_schedule(struct slot *s, int64_t delay_ms)
{
    if (s->tenant->closing)
        return;
    uv_timer_start(&s->timer, on_slot_timer, delay_ms > 0 ? (uint64_t)delay_ms : 0, 0);
}

static void on_scan_done(struct scan *sc, const char *status);

/* A full scan is due when none completed within reconcile_interval. */
static bool full_scan_due(struct slot *s)
{
    struct engine *e = s->tenant->eng;
    struct checkpoint cp;
    int64_t last;
    if (store_checkpoint_get(e->store, s->tenant->name, resource_name(s->res), &cp) < 0)
        return false;
    if (!cp.last_full_scan_at[0] || ts_parse(cp.last_full_scan_at, &last) < 0)
        return true;
    /* A stored time people read: compared on the wall clock. */
    return clock_wall_ms() - last >= e->cfg->reconcile_interval_ms;
}

static void on_slot_timer(uv_timer_t *timer)
{
    struct slot *s = container_of(timer, struct slot, timer);
    struct tenant *t = s->tenant;
    struct engine *e = t->eng;
    if (e->stopping || t->closing || t->status != TENANT_OK || s->forbidden || s->scan)
        return;
    t->busy++;
    e->busy++;
    s->scan = scan_start(s, full_scan_due(s), on_scan_done);
}

static void on_scan_done(struct scan *sc, const char *status)
{
    struct slot *s = scan_slot(sc);
    struct tenant *t = s->tenant;
    struct engine *e = t->eng;
    s->scan = NULL;
    s->scans_finished++;
    if (strcmp(status, "complete") == 0) {
        s->scans_complete++;
        e->stats.scans_complete++;
    } else if (strcmp(status, "incomplete") == 0) {
        e->stats.scans_incomplete++;
    } else {
        s->scans_failed++;
        e->stats.scans_failed++;
    }
    scan_free(sc);
    e->busy--;
    if (!e->stopping && !t->closing && t->status == TENANT_OK && !s->forbidden) {
        int64_t jitter = (int64_t)rand_below((uint64_t)e->cfg->poll_jitter_ms + 1);
        slot_schedule(s, e->cfg->poll_interval_ms + jitter);
    }
    if (e->on_scan_done)
        e->on_scan_done(e, s, status);
    tenant_unbusy(t);
    engine_idle_check(e); /* stopping: the last scan to end lets shutdown go on */
}

/* ---- close ---- */

static void on_handle_closed(uv_handle_t *h)
{
    struct tenant *t = h->data;
    if (--t->open_handles > 0)
        return;
    struct engine *e = t->eng;
    t->dest->ops->free(t->dest);
    free(t->name);
    free(t->token_file);
    free(t->token);
    free(t->auth_header);
    free(t->secret_file);
    free(t->secret);
    free(t->webhook_url);
    free(t->token_problem);
    free(t->secret_problem);
    free(t);
    e->open_handles--;
    engine_handle_closed(e);
}

/* Closes the tenant's handles; the last close callback frees it.  Runs
 * once, when the tenant is closing and its last reference went. */
static void close_handles(struct tenant *t)
{
    if (t->handles_closing)
        return;
    t->handles_closing = true;
    for (int r = 0; r < RES_COUNT; r++) {
        t->slots[r].timer.data = t;
        uv_close((uv_handle_t *)&t->slots[r].timer, on_handle_closed);
    }
    t->watch.data = t;
    uv_close((uv_handle_t *)&t->watch, on_handle_closed);
    t->vomo_lane.timer.data = t;
    t->dest_lane.timer.data = t;
    lane_close(&t->vomo_lane, on_handle_closed);
    lane_close(&t->dest_lane, on_handle_closed);
}

void tenant_unbusy(struct tenant *t)
{
    if (t->busy <= 0) {
        log_error("tenant %s: a job ended that was never counted (ignored)", t->name);
        return;
    }
    t->busy--;
    if (t->closing && t->busy == 0)
        close_handles(t);
}

/*
 * Closing holds a reference of its own for as long as it runs: stopping
 * the lanes cancels queued jobs (behind an open breaker, in a backoff, a
 * Retry-After or a paused destination) synchronously, and each cancelled
 * scan or DLQ job drops its reference on the way out.  Without this one,
 * the last of them would close the handles in the middle of the close.
 * Closing again (also from within a cancelled job's callback) does nothing.
 */
void tenant_close(struct tenant *t)
{
    if (t->closing)
        return;
    t->closing = true;
    t->busy++;
    t->eng->open_handles++; /* until the last handle of the tenant closed */
    for (int r = 0; r < RES_COUNT; r++)
        uv_timer_stop(&t->slots[r].timer);
    uv_timer_stop(&t->watch);
    lane_stop(&t->vomo_lane);
    lane_stop(&t->dest_lane);
    tenant_unbusy(t);
}
