/*
 * outboxproc.c - the outbox processor of outboxproc.h: the timer, the
 * validation of rows a program INSERTed, each tenant's due rows in
 * creation order with one record's writes kept in order, the breaker gate
 * and the writes-paused switch (rows held there spend no attempt), and the
 * in_flight commit of a tick's writes in one transaction before any of
 * their requests leaves.  What happens to one write is outbox_job.c.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "outbox_int.h"
#include "store.h"
#include "tenant.h"
#include "workgate.h"

#define OUTBOX_TICK_MAX_MS 1000 /* a queued write waits at most about this long */
#define OUTBOX_VALIDATE_BATCH 100

static void on_tick(uv_timer_t *timer);

struct outboxproc *outboxproc_new(struct engine *e)
{
    struct outboxproc *p = xcalloc(1, sizeof(*p));
    p->e = e;
    uv_timer_init(e->loop, &p->timer);
    p->timer.data = p;
    return p;
}

static uint64_t tick_every(const struct outboxproc *p)
{
    int64_t every = p->e->cfg->dlq_interval_ms;
    if (every > OUTBOX_TICK_MAX_MS || every <= 0)
        every = OUTBOX_TICK_MAX_MS;
    return (uint64_t)every;
}

void outboxproc_start(struct outboxproc *p)
{
    char now[TS_LEN];
    int64_t changed = 0;
    ts_format(clock_wall_ms(), now);
    if (store_outbox_recover(p->e->store, now, &changed) < 0)
        log_error("could not mark writes left in flight as unknown: %s (they are not sent "
                  "until this succeeds)",
                  store_errmsg(p->e->store));
    else if (changed > 0)
        log_warn("%lld write(s) were in flight when vomo-sync last stopped: their outcome is "
                 "unknown; creates are searched for in VOMO before any is sent again",
                 (long long)changed);
    uv_timer_start(&p->timer, on_tick, 0, tick_every(p));
}

static void tick_soon(struct outboxproc *p)
{
    if (!p->stopped && !p->closing)
        uv_timer_start(&p->timer, on_tick, 0, tick_every(p));
}

void outboxproc_pause_writes(struct outboxproc *p, const char *tenant, bool paused, const char *why)
{
    struct paused_tenant **pp = &p->paused;
    while (*pp && strcmp((*pp)->name, tenant) != 0)
        pp = &(*pp)->next;
    struct log_fields f = {.tenant = tenant, .delay_ms = LOG_NO_DELAY};
    if (paused && !*pp) {
        *pp = xcalloc(1, sizeof(**pp));
        (*pp)->name = xstrdup(tenant);
        log_emit(LOG_WARN, &f, "writes to VOMO paused: %s (queued writes wait)", why);
    } else if (!paused && *pp) {
        struct paused_tenant *gone = *pp;
        *pp = gone->next;
        free(gone->name);
        free(gone);
        log_emit(LOG_INFO, &f, "writes to VOMO resumed: %s", why);
        tick_soon(p);
    }
}

bool outboxproc_writes_paused(const struct outboxproc *p, const char *tenant)
{
    for (const struct paused_tenant *q = p->paused; q; q = q->next)
        if (strcmp(q->name, tenant) == 0)
            return true;
    return false;
}

const struct outboxproc_stats *outboxproc_stats(const struct outboxproc *p)
{
    return &p->stats;
}

static int tenant_jobs(const struct outboxproc *p, const struct tenant *t)
{
    int n = 0;
    for (const struct ob_job *j = p->jobs; j; j = j->next)
        n += j->t == t;
    return n;
}

static bool row_running(const struct outboxproc *p, int64_t id)
{
    for (const struct ob_job *j = p->jobs; j; j = j->next)
        if (j->row.id == id)
            return true;
    return false;
}

/* Whether a write of the tenant may start now; false holds it uncounted. */
/* now is monotonic: breakers measure durations. */
static bool may_try(struct outboxproc *p, struct tenant *t, int64_t now)
{
    if (!t || t->closing || t->status != TENANT_OK || outboxproc_writes_paused(p, t->name))
        return false;
    if (!workgate_admits(workgate_breaker(&p->e->vomo_breaker, now), tenant_jobs(p, t))) {
        p->stats.skipped_breaker++;
        return false;
    }
    return true;
}

void outbox_job_end(struct ob_job *j)
{
    struct outboxproc *p = j->p;
    for (struct ob_job **pp = &p->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    if (j->have_rec)
        vomo_record_free(&j->rec);
    if (j->have_page)
        vomo_page_free(&j->found);
    outbox_row_free(&j->row);
    struct tenant *t = j->t;
    free(j);
    p->running--;
    p->e->busy--;
    tenant_unbusy(t);
    engine_idle_check(p->e);
    if (p->closing && p->running == 0 && !p->timer_closed)
        outboxproc_close(p);
    else
        tick_soon(p); /* the record it held may let a later write go */
}

static struct ob_job *job_new(struct outboxproc *p, struct tenant *t, struct outbox_row *row,
                              const struct outbox_op *op)
{
    struct ob_job *j = xcalloc(1, sizeof(*j));
    j->p = p;
    j->t = t;
    j->row = *row;
    j->op = op;
    trace_id_new(j->trace_id);
    j->next = p->jobs;
    p->jobs = j;
    p->running++;
    p->e->busy++;
    t->busy++;
    return j;
}

/* Sends a row that fails the checks to manual review with the reason. */
static void reject(struct outboxproc *p, const struct outbox_row *r, const char *why)
{
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    struct outbox_failure f = {.state = "manual_review",
                               .attempts = r->attempts,
                               .error_class = "validation",
                               .message = why,
                               .action = "escalated",
                               .now = now};
    struct log_fields lf = {.tenant = r->tenant,
                            .resource = r->resource,
                            .error_class = "validation",
                            .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_ERROR, &lf, "outbox %lld is not a write vomo-sync can make: %s (manual review)",
             (long long)r->id, why);
    p->stats.invalid++;
    int rc = store_outbox_set_key(p->e->store, r->id, "");
    if (rc == 0 && strcmp(r->state, "pending") == 0)
        rc = store_outbox_failed(p->e->store, r->id, &f);
    if (rc < 0)
        log_error("outbox %lld: %s", (long long)r->id, store_errmsg(p->e->store));
}

/* Rows a program INSERTed are checked once, like `vomo-sync write` checks. */
static void validate_new(struct outboxproc *p)
{
    struct outbox_row *rows = NULL;
    size_t n = 0;
    if (store_outbox_unvalidated(p->e->store, OUTBOX_VALIDATE_BATCH, &rows, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct outbox_row *r = &rows[i];
        char why[256], key[OUTBOX_KEY_LEN];
        if (!engine_tenant(p->e, r->tenant))
            snprintf(why, sizeof(why), "no tenant '%.100s' in the configuration", r->tenant);
        else if (outbox_validate(r->resource, r->op, r->target_id, r->payload, why, sizeof(why),
                                 key) == 0) {
            if (store_outbox_set_key(p->e->store, r->id, key) < 0)
                log_error("outbox %lld: %s", (long long)r->id, store_errmsg(p->e->store));
            continue;
        }
        reject(p, r, why);
    }
    outbox_rows_free(rows, n);
}

/*
 * Picks which due rows of a tenant start now: not already running, not
 * behind an open write of the same record.  Picked rows are moved from the
 * array into *picked.
 */
static size_t pick(struct outboxproc *p, struct tenant *t, struct outbox_row *rows, size_t n,
                   int room, int64_t mono_now, struct outbox_row *picked)
{
    size_t k = 0;
    /* Behind a breaker that lets one probe through, one write is it. */
    if (workgate_breaker(&p->e->vomo_breaker, mono_now) == WORKGATE_PROBE)
        room = room > 1 ? 1 : room;
    for (size_t i = 0; i < n && (int)k < room; i++) {
        struct outbox_row *r = &rows[i];
        if (row_running(p, r->id))
            continue;
        int blocked = store_outbox_blocked(p->e->store, t->name, r->record_key, r->id);
        if (blocked != 0)
            continue;
        picked[k++] = *r;
        memset(r, 0, sizeof(*r));
    }
    return k;
}

static bool needs_search(const struct outbox_row *r, const struct outbox_op *op)
{
    return !op->safe && strcmp(r->state, "unknown") == 0;
}

/* Commits every picked write to in_flight in one transaction (one fsync
 * for the tick), then lets them go.  A row a person changed meanwhile is
 * skipped. */
static void launch(struct outboxproc *p, struct tenant *t, struct outbox_row *rows, size_t n)
{
    struct store *st = p->e->store;
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    bool *go = xcalloc(n ? n : 1, sizeof(*go));
    int rc = store_begin(st);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct outbox_op *op = outbox_op_find(rows[i].resource, rows[i].op);
        if (!op || needs_search(&rows[i], op))
            continue;
        int r = store_outbox_begin_send(st, rows[i].id, rows[i].state, now);
        go[i] = r == 0;
        if (r < 0 && r != -ESTALE)
            rc = r;
    }
    if (rc == 0)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        log_error("could not mark writes of %s in flight: %s (they wait)", t->name,
                  store_errmsg(st));
    }
    for (size_t i = 0; i < n; i++) {
        const struct outbox_op *op = outbox_op_find(rows[i].resource, rows[i].op);
        bool search = op && rc == 0 && needs_search(&rows[i], op);
        if (!op || rc < 0 || (!go[i] && !search)) {
            outbox_row_free(&rows[i]);
            continue;
        }
        struct ob_job *j = job_new(p, t, &rows[i], op);
        if (search)
            outbox_job_search(j);
        else
            outbox_job_send(j);
    }
    free(go);
}

static void tick_tenant(struct outboxproc *p, struct tenant *t, const char *now, int *room)
{
    struct outbox_row *rows = NULL;
    size_t n = 0;
    if (store_outbox_due_for(p->e->store, t->name, now, *room + tenant_jobs(p, t), &rows, &n) < 0) {
        log_warn("could not read due writes of %s: %s", t->name, store_errmsg(p->e->store));
        return;
    }
    struct outbox_row *picked = xcalloc(n ? n : 1, sizeof(*picked));
    size_t k = pick(p, t, rows, n, *room, clock_mono_ms(), picked);
    outbox_rows_free(rows, n);
    *room -= (int)k;
    launch(p, t, picked, k);
    free(picked);
}

/*
 * One tick: new rows validated, then each running tenant's due writes
 * within the batch bound, tenants asked in turn from a different one each
 * tick so that one tenant's backlog cannot hold the others'.
 */
void outboxproc_tick(struct outboxproc *p)
{
    struct engine *e = p->e;
    if (p->stopped || p->closing || e->stopping)
        return;
    p->stats.ticks++;
    validate_new(p);
    int room = e->cfg->dlq_batch_size - p->running;
    if (room <= 0)
        return;
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    size_t ntenants = 0;
    for (struct tenant *t = e->tenants; t; t = t->next)
        ntenants++;
    size_t first = ntenants ? p->turn++ % ntenants : 0;
    for (size_t k = 0; k < ntenants && room > 0; k++) {
        struct tenant *t = e->tenants;
        for (size_t i = 0; i < (first + k) % ntenants; i++)
            t = t->next;
        if (may_try(p, t, clock_mono_ms()))
            tick_tenant(p, t, now, &room);
    }
}

static void on_tick(uv_timer_t *timer)
{
    outboxproc_tick(timer->data);
}

void outboxproc_stop(struct outboxproc *p)
{
    p->stopped = true;
    uv_timer_stop(&p->timer);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct outboxproc *p = h->data;
    struct engine *e = p->e;
    while (p->paused) {
        struct paused_tenant *q = p->paused;
        p->paused = q->next;
        free(q->name);
        free(q);
    }
    free(p);
    e->open_handles--;
    engine_handle_closed(e);
}

void outboxproc_close(struct outboxproc *p)
{
    outboxproc_stop(p);
    p->closing = true;
    if (p->running > 0 || p->timer_closed)
        return; /* the last job closes it */
    p->timer_closed = true;
    uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}
