/*
 * dlqproc.c - the timer-driven DLQ processor of dlqproc.h.  Each due row
 * becomes a job: GET the record from VOMO (through the tenant's lane, so
 * breakers, rate gate and retry budget apply), decide, deliver through the
 * tenant's destination, and write the outcome in one transaction, so a
 * kill at any instant leaves the row pending or resolved, never lost.
 */
#include "dlqproc.h"

#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "dest.h"
#include "dlqsched.h"
#include "engine.h"
#include "log.h"
#include "sign.h"
#include "store.h"
#include "tenant.h"
#include "vomo.h"
#include "workgate.h"

struct dlq_job {
    struct dlqproc *p;
    struct tenant *t;
    struct dlq_row row;
    struct call call;
    struct claim claim; /* the record, from the decision to deliver until the outcome is saved */
    struct delivery dl;
    struct vomo_record rec;
    bool have_rec;
    char hash[SHA256_HEX_LEN];
    char trace_id[TRACE_ID_LEN]; /* one per attempt, on every log line of it */
    enum err_class fail_class;   /* the failure being written, for write_failed */
    bool fail_review;            /* the destination asked for manual review at once */
    long fail_status;
    char fail_msg[256];
    struct dlq_job *next;
};

struct dlqproc {
    struct engine *e;
    uv_timer_t timer;
    struct dlq_job *jobs;
    int running;
    bool stopped, closing, timer_closed;
    size_t turn; /* which tenant a tick asks first */
    int64_t pending, review;
    struct dlqproc_stats stats;
};

static void on_tick(uv_timer_t *timer);

struct dlqproc *dlqproc_new(struct engine *e)
{
    struct dlqproc *p = xcalloc(1, sizeof(*p));
    p->e = e;
    uv_timer_init(e->loop, &p->timer);
    p->timer.data = p;
    return p;
}

void dlqproc_start(struct dlqproc *p)
{
    uint64_t every = (uint64_t)p->e->cfg->dlq_interval_ms;
    uv_timer_start(&p->timer, on_tick, every, every);
    dlqproc_tick(p); /* rows due at start-up are not kept waiting a whole interval */
}

static struct log_fields job_fields(const struct dlq_job *j)
{
    return (struct log_fields){.tenant = j->row.tenant,
                               .resource = j->row.resource,
                               .record_id = j->row.record_id,
                               .trace_id = j->trace_id,
                               .delay_ms = LOG_NO_DELAY};
}

static void job_free(struct dlq_job *j)
{
    struct dlqproc *p = j->p;
    /* First: a delivery of this record waiting for ours may start now,
     * while this job still counts as running. */
    claim_release(&j->t->dest->claims, &j->claim);
    for (struct dlq_job **pp = &p->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    if (j->have_rec)
        vomo_record_free(&j->rec);
    dlq_row_free(&j->row);
    struct tenant *t = j->t;
    free(j);
    p->running--;
    p->e->busy--;
    tenant_unbusy(t);
    engine_idle_check(p->e);
    if (p->closing && p->running == 0 && !p->timer_closed)
        dlqproc_close(p);
}

/* Writes one outcome in its own transaction; logs a database failure. */
static void write_outcome(struct dlq_job *j, int (*fn)(struct dlq_job *j, const char *now))
{
    struct store *st = j->p->e->store;
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    int rc = store_begin(st);
    if (rc == 0)
        rc = fn(j, now);
    if (rc == 0)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        struct log_fields f = job_fields(j);
        log_emit(LOG_ERROR, &f, "dead letter %lld not updated: %s (it stays as it was)",
                 (long long)j->row.id, store_errmsg(st));
    }
}

/* A failed attempt: back off on the schedule, or escalate. */
static int write_failed(struct dlq_job *j, const char *now)
{
    struct dlqproc *p = j->p;
    enum err_class cls = j->fail_class;
    const char *fail_class = err_class_name(cls);
    const char *fail_msg = j->fail_msg;
    int attempts = j->row.attempts + 1;
    struct dlq_decision d =
        dlqsched_after_failure(&p->e->dlq_policy, cls, attempts, clock_wall_ms(), rand_u64());
    d.escalate = d.escalate || j->fail_review;
    char next[TS_LEN];
    ts_format(d.next_attempt_at, next);
    struct log_fields f = job_fields(j);
    f.error_class = fail_class;
    f.http_status = (int)j->fail_status;
    f.attempt = attempts;
    if (d.escalate) {
        p->stats.escalated++;
        log_emit(LOG_ERROR, &f, "dead letter %lld needs a person (manual_review): %s",
                 (long long)j->row.id, fail_msg);
    } else {
        p->stats.failed++;
        f.delay_ms = d.next_attempt_at - clock_wall_ms();
        log_emit(LOG_WARN, &f, "dead letter %lld failed again: %s; next attempt at %s",
                 (long long)j->row.id, fail_msg, next);
    }
    return store_dlq_attempt_failed(
        p->e->store, j->row.id, attempts, d.escalate ? "manual_review" : "pending",
        d.escalate ? NULL : next, fail_class, (int)j->fail_status, fail_msg, now);
}

static void job_failed(struct dlq_job *j, enum err_class cls, long status, const char *msg)
{
    j->fail_class = cls;
    j->fail_status = status;
    snprintf(j->fail_msg, sizeof(j->fail_msg), "%s", msg);
    write_outcome(j, write_failed);
    job_free(j);
}

static int write_resolved(struct dlq_job *j, const char *now, const char *resolution)
{
    return store_dlq_close(j->p->e->store, j->row.id, "resolved", resolution, NULL, "daemon", now);
}

static int write_superseded(struct dlq_job *j, const char *now)
{
    j->p->stats.superseded++;
    int rc = write_resolved(j, now, "superseded");
    /* The scan whose delivery this job waited for may have resolved the
     * row already, when it saved the newer version. */
    return rc == -EALREADY ? 0 : rc;
}

/*
 * VOMO answered 404.  That can be eventual consistency (vomo-api.md), so it
 * is asked again on the DLQ schedule like any failure; once the attempts
 * are spent the row is resolved as gone.  The record is not marked deleted
 * here: only a reconciliation, which confirms, deletes.
 */
static int write_not_found(struct dlq_job *j, const char *now)
{
    struct dlqproc *p = j->p;
    int attempts = j->row.attempts + 1;
    struct dlq_decision d = dlqsched_after_failure(&p->e->dlq_policy, EC_NOT_FOUND, attempts,
                                                   clock_wall_ms(), rand_u64());
    struct log_fields f = job_fields(j);
    f.error_class = "not_found";
    f.http_status = 404;
    f.attempt = attempts;
    if (d.escalate) {
        p->stats.gone++;
        log_emit(LOG_INFO, &f,
                 "dead letter %lld resolved as gone: VOMO answered 404 in %d attempts (the next "
                 "reconciliation confirms the deletion)",
                 (long long)j->row.id, attempts);
        return write_resolved(j, now, "gone");
    }
    char next[TS_LEN];
    ts_format(d.next_attempt_at, next);
    p->stats.not_found++;
    f.delay_ms = d.next_attempt_at - clock_wall_ms();
    log_emit(LOG_INFO, &f,
             "dead letter %lld: VOMO answered 404 (it may not show the record yet); asked again "
             "at %s",
             (long long)j->row.id, next);
    return store_dlq_attempt_failed(p->e->store, j->row.id, attempts, "pending", next, "not_found",
                                    404, j->fail_msg, now);
}

static int write_delivered(struct dlq_job *j, const char *now)
{
    struct store *st = j->p->e->store;
    j->p->stats.resolved++;
    int rc = store_record_put(st, j->row.tenant, j->row.resource, j->rec.id, j->rec.updated_at,
                              j->rec.payload, j->hash, now);
    if (rc == 0)
        rc = write_resolved(j, now, "delivered");
    if (rc == 0)
        rc = store_dlq_supersede(st, j->row.tenant, j->row.resource, j->rec.id, j->rec.updated_at,
                                 now);
    return rc;
}

/* The records table already says deleted (since the deletion failed). */
static int write_deletion_delivered(struct dlq_job *j, const char *now)
{
    j->p->stats.resolved++;
    return write_resolved(j, now, "delivered");
}

static void on_delivered(struct delivery *dl, const struct delivery_result *r)
{
    struct dlq_job *j = container_of(dl, struct dlq_job, dl);
    struct log_fields f = job_fields(j);
    if (r->cancelled) {
        job_free(j);
    } else if (r->cls != EC_NONE) {
        j->fail_review = r->treatment == TR_DEAD_LETTER;
        job_failed(j, r->cls, r->status, r->message);
    } else if (j->row.is_delete) {
        log_emit(LOG_INFO, &f, "dead letter %lld: deletion (found at %s) delivered",
                 (long long)j->row.id, j->row.record_updated_at);
        write_outcome(j, write_deletion_delivered);
        job_free(j);
    } else {
        log_emit(LOG_INFO, &f, "dead letter %lld delivered at version %s", (long long)j->row.id,
                 j->rec.updated_at);
        write_outcome(j, write_delivered);
        job_free(j);
    }
}

static void on_claim_granted(struct claim *c);

/*
 * The latest version is in hand: resolve it as superseded or deliver it.
 * The check is made again once the record is claimed, just before it is
 * sent: while another delivery of it is in flight (a scan's), the job
 * waits for that one to end and be saved, and never sends a version older
 * than what the destination then holds.
 */
/* Claims the job's record; false when it waits for another delivery. */
static bool claim_record(struct dlq_job *j, const char *id)
{
    if (j->claim.state != CLAIM_IDLE)
        return true;
    j->claim = (struct claim){.granted = on_claim_granted, .owner = j};
    if (claim_take(&j->t->dest->claims, &j->claim, j->row.resource, id))
        return true;
    struct log_fields f = job_fields(j);
    log_emit(LOG_DEBUG, &f, "dead letter %lld waits: another delivery of the record is in flight",
             (long long)j->row.id);
    return false;
}

/*
 * A deletion that was not delivered is sent again as a deletion (nothing is
 * read from VOMO), with the time it was found, which the records table
 * keeps (records.deleted_at = the row's record_updated_at): the same body
 * and Idempotency-Key as the first attempt, across retries and restarts.
 * A record that is live again, or was deleted again later, supersedes it.
 */
static void decide_delete(struct dlq_job *j)
{
    struct record_state held;
    int rc =
        store_record_get(j->p->e->store, j->row.tenant, j->row.resource, j->row.record_id, &held);
    struct log_fields f = job_fields(j);
    if (rc < 0 && rc != -ENOENT) {
        log_emit(LOG_ERROR, &f, "dead letter %lld not tried: %s (it stays as it was)",
                 (long long)j->row.id, store_errmsg(j->p->e->store));
        job_free(j);
        return;
    }
    if (rc == -ENOENT || !held.deleted || strcmp(held.deleted_at, j->row.record_updated_at) != 0) {
        log_emit(LOG_INFO, &f, "dead letter %lld superseded: the deletion no longer stands",
                 (long long)j->row.id);
        write_outcome(j, write_superseded);
        job_free(j);
        return;
    }
    if (!claim_record(j, j->row.record_id))
        return;
    j->dl = (struct delivery){.resource = j->row.resource,
                              .id = j->row.record_id,
                              .updated_at = j->row.record_updated_at,
                              .is_delete = true,
                              .trace_id = j->trace_id,
                              .done = on_delivered};
    dest_deliver(j->t->dest, &j->dl);
}

static void decide(struct dlq_job *j)
{
    struct store *st = j->p->e->store;
    struct record_state held;
    if (j->p->e->stopping) {
        job_free(j); /* nothing sent, the row stays as it was */
        return;
    }
    if (j->row.is_delete) {
        decide_delete(j);
        return;
    }
    sign_sha256_hex(j->rec.payload, strlen(j->rec.payload), j->hash);
    int rc = store_record_get(st, j->row.tenant, j->row.resource, j->rec.id, &held);
    if (rc == 0 && !held.deleted &&
        (strcmp(held.updated_at, j->rec.updated_at) > 0 ||
         (strcmp(held.updated_at, j->rec.updated_at) == 0 && strcmp(held.hash, j->hash) == 0))) {
        struct log_fields f = job_fields(j);
        log_emit(LOG_INFO, &f, "dead letter %lld superseded: the destination holds %s",
                 (long long)j->row.id, held.updated_at);
        write_outcome(j, write_superseded);
        job_free(j);
        return;
    }
    if (!claim_record(j, j->rec.id))
        return;
    j->dl = (struct delivery){.resource = j->row.resource,
                              .id = j->rec.id,
                              .updated_at = j->rec.updated_at,
                              .payload = j->rec.payload,
                              .trace_id = j->trace_id,
                              .done = on_delivered};
    dest_deliver(j->t->dest, &j->dl);
}

static void on_claim_granted(struct claim *c)
{
    decide(container_of(c, struct dlq_job, claim));
}

/* The slot of a row's resource (NULL for a resource vomo-sync does not know). */
static struct slot *row_slot(struct tenant *t, const char *resource)
{
    enum resource r;
    return resource_parse(resource, &r) == 0 ? &t->slots[r] : NULL;
}

/*
 * 403: the token may not read this resource.  Retrying cannot help until
 * the token gets its scope, which happens in VOMO without the token file
 * changing, so the resource's rows wait without spending attempts (like
 * rows behind an open breaker) and one of them probes every
 * breaker.open_timeout.
 */
static void resource_forbidden(struct dlq_job *j, const char *msg)
{
    struct slot *s = row_slot(j->t, j->row.resource);
    if (!s)
        return;
    if (!s->dlq_forbidden) {
        struct log_fields f = job_fields(j);
        f.error_class = "forbidden";
        f.http_status = 403;
        log_emit(LOG_ERROR, &f,
                 "VOMO refused to read %s for this token (%s): its dead letters wait (no "
                 "attempts spent) and one is tried every breaker.open_timeout; grant the token "
                 "this scope",
                 j->row.resource, msg);
    }
    s->dlq_forbidden = true;
    s->dlq_probe_at = clock_mono_ms() + j->p->e->cfg->breaker_open_timeout_ms;
}

/* A read of the resource succeeded: its rows go on. */
static void resource_allowed(struct dlq_job *j)
{
    struct slot *s = row_slot(j->t, j->row.resource);
    if (!s || !s->dlq_forbidden)
        return;
    s->dlq_forbidden = false;
    struct log_fields f = job_fields(j);
    log_emit(LOG_INFO, &f, "VOMO lets this token read %s again: its dead letters go on",
             j->row.resource);
}

static void on_fetched(struct call *c, const struct call_result *r)
{
    struct dlq_job *j = container_of(c, struct dlq_job, call);
    bool gone = r->cls == EC_NOT_FOUND;
    const char *err = NULL;
    if (!r->cancelled && r->cls == EC_NONE) {
        if (vomo_parse_record(r->resp->body, r->resp->body_len, &j->rec, &err) < 0 ||
            j->rec.error) {
            if (!err)
                err = j->rec.error;
            j->have_rec = true;
            char msg[256];
            snprintf(msg, sizeof(msg), "VOMO returned a malformed record: %s", err ? err : "?");
            call_release(c);
            job_failed(j, EC_BAD_DATA, r->status, msg);
            return;
        }
        j->have_rec = true;
    }
    char msg[256];
    snprintf(msg, sizeof(msg), "%s", r->message);
    enum err_class cls = r->cls;
    enum treatment tr = r->treatment;
    long status = r->status;
    uint64_t sent_tag = c->sent_tag;
    call_release(c);
    if (r->cancelled) {
        job_free(j);
    } else if (cls == EC_NONE) {
        resource_allowed(j);
        decide(j);
    } else if (gone) {
        snprintf(j->fail_msg, sizeof(j->fail_msg), "%s", msg);
        write_outcome(j, write_not_found);
        job_free(j);
    } else if (tr == TR_STOP_OPERATION) {
        resource_forbidden(j, msg);
        job_free(j); /* not counted: its rows wait for the scope */
    } else if (tr == TR_STOP_TENANT) {
        tenant_auth_failed(j->t, sent_tag, j->trace_id, msg);
        job_free(j); /* not counted: the tenant waits for a new token */
    } else {
        job_failed(j, cls, status, msg);
    }
}

static void start_job(struct dlqproc *p, struct tenant *t, struct dlq_row *row)
{
    struct engine *e = p->e;
    struct dlq_job *j = xcalloc(1, sizeof(*j));
    j->p = p;
    j->t = t;
    j->row = *row;
    trace_id_new(j->trace_id);
    j->next = p->jobs;
    p->jobs = j;
    p->running++;
    e->busy++;
    t->busy++;
    if (j->row.is_delete) {
        decide(j); /* a deletion: nothing to read from VOMO */
        return;
    }
    char *url = vomo_get_url(e->cfg->base_url, j->row.resource, j->row.record_id);
    const char *headers[] = {t->auth_header, "Accept: application/json", NULL};
    call_init(&j->call, "GET", url, NULL, 0, headers);
    free(url);
    struct call *c = &j->call;
    c->lane = &t->vomo_lane;
    c->http = &e->http;
    c->ctx = OP_VOMO_GET;
    c->backoff = &e->retry_policy;
    c->budget = &t->budget;
    c->breaker = &e->vomo_breaker;
    c->gate = &t->gate;
    c->timeout_ms = e->cfg->request_timeout_ms;
    c->connect_timeout_ms = e->cfg->connect_timeout_ms;
    c->max_response = (size_t)e->cfg->max_response_size;
    c->tenant = t->name;
    c->resource = j->row.resource;
    c->record_id = j->row.record_id;
    c->trace_id = j->trace_id;
    c->done = on_fetched;
    c->before_send = tenant_authorize;
    c->arg = t;
    call_start(c);
}

/* A destination paused as misconfigured gates like a breaker (probed by
 * its lane). */
static enum workgate pause_gate(const struct tenant *t, int64_t now)
{
    if (!t->dest_paused)
        return WORKGATE_OPEN;
    return now < t->dest_lane.paused_until ? WORKGATE_SHUT : WORKGATE_PROBE;
}

static int tenant_jobs(const struct dlqproc *p, const struct tenant *t)
{
    int n = 0;
    for (const struct dlq_job *j = p->jobs; j; j = j->next)
        n += j->t == t;
    return n;
}

/*
 * Whether a row may be tried now; false leaves it untouched and uncounted.
 * Behind an open breaker or a paused destination, one row of the tenant
 * goes as the probe once it is due, and the others wait for the next tick.
 */
static bool may_try(struct dlqproc *p, struct tenant *t, int64_t now)
{
    if (!t || t->closing || t->status != TENANT_OK)
        return false;
    enum workgate g = workgate_worst(workgate_breaker(&p->e->vomo_breaker, now),
                                     workgate_breaker(&t->dest_breaker, now));
    g = workgate_worst(g, pause_gate(t, now));
    if (!workgate_admits(g, tenant_jobs(p, t))) {
        p->stats.skipped_breaker++;
        return false;
    }
    return true;
}

static bool resource_running(const struct dlqproc *p, const struct tenant *t, const char *res)
{
    for (const struct dlq_job *j = p->jobs; j; j = j->next)
        if (j->t == t && strcmp(j->row.resource, res) == 0)
            return true;
    return false;
}

/*
 * The resources of t whose rows wait now, as ",users,groups," for the due
 * query (a row of a waiting resource must not take the place of one that
 * can go).  A resource forbidden for the DLQ lets one row through as its
 * probe once breaker.open_timeout has passed; one stopped by a scan's 403
 * waits for the token to change or a reload, like its scans.
 */
static void waiting_resources(struct dlqproc *p, struct tenant *t, char *out, size_t size,
                              bool probe[RES_COUNT])
{
    size_t len = 0;
    int64_t now = clock_mono_ms();
    out[0] = '\0';
    for (int r = 0; r < RES_COUNT; r++) {
        struct slot *s = &t->slots[r];
        const char *name = resource_name((enum resource)r);
        probe[r] = false;
        bool wait = s->forbidden;
        if (!wait && s->dlq_forbidden) {
            probe[r] = now >= s->dlq_probe_at && !resource_running(p, t, name);
            wait = !probe[r];
        }
        if (wait && len + strlen(name) + 3 < size)
            len += (size_t)snprintf(out + len, size - len, "%s%s,", len ? "" : ",", name);
    }
}

static bool row_running(const struct dlqproc *p, int64_t id)
{
    for (const struct dlq_job *j = p->jobs; j; j = j->next)
        if (j->row.id == id)
            return true;
    return false;
}

/* Starts up to *room of one tenant's due rows. */
static void tick_tenant(struct dlqproc *p, struct tenant *t, const char *now, int64_t now_ms,
                        int *room)
{
    struct dlq_row *rows = NULL;
    size_t n = 0;
    char waiting[64];
    bool probe[RES_COUNT];
    waiting_resources(p, t, waiting, sizeof(waiting), probe);
    /* Its rows already at work are still pending: ask for that many more. */
    if (store_dlq_due_for(p->e->store, t->name, waiting[0] ? waiting : NULL, now,
                          *room + tenant_jobs(p, t), &rows, &n) < 0) {
        log_warn("could not read due dead letters of %s: %s", t->name, store_errmsg(p->e->store));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct slot *s = row_slot(t, rows[i].resource);
        bool probing = s && probe[s->res];
        if (*room > 0 && !row_running(p, rows[i].id) && may_try(p, t, now_ms) &&
            (!probing || !resource_running(p, t, rows[i].resource))) {
            start_job(p, t, &rows[i]);
            (*room)--;
            continue;
        }
        if (probing)
            p->stats.skipped_forbidden++;
        dlq_row_free(&rows[i]);
    }
    free(rows);
}

/*
 * One tick: each running tenant's due rows, oldest first, within the batch
 * bound.  Tenants are asked one after the other, starting with a different
 * one each tick, so a tenant with a large backlog (or a destination that is
 * down) cannot keep the others' rows waiting.
 */
void dlqproc_tick(struct dlqproc *p)
{
    struct engine *e = p->e;
    if (p->stopped || e->stopping)
        return;
    p->stats.ticks++;
    if (store_dlq_counts(e->store, &p->pending, &p->review) < 0)
        log_warn("could not count dead letters: %s", store_errmsg(e->store));
    /* Jobs still at work (e.g. waiting for a paused destination) keep
     * their places; the batch bound covers them and the new ones. */
    int room = e->cfg->dlq_batch_size - p->running;
    if (room <= 0)
        return;
    /* Breakers and pauses are measured on the monotonic clock; which rows
     * are due is a stored wall-clock time (next_attempt_at). */
    int64_t now_ms = clock_mono_ms();
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
        if (may_try(p, t, now_ms))
            tick_tenant(p, t, now, now_ms, &room);
    }
}

static void on_tick(uv_timer_t *timer)
{
    dlqproc_tick(timer->data);
}

void dlqproc_stop(struct dlqproc *p)
{
    p->stopped = true;
    uv_timer_stop(&p->timer);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct dlqproc *p = h->data;
    struct engine *e = p->e;
    free(p);
    e->open_handles--;
    engine_handle_closed(e);
}

void dlqproc_close(struct dlqproc *p)
{
    dlqproc_stop(p);
    p->closing = true;
    if (p->running > 0 || p->timer_closed)
        return; /* the last job closes it */
    p->timer_closed = true;
    uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}

void dlqproc_counts(const struct dlqproc *p, int64_t *pending, int64_t *review)
{
    *pending = p->pending;
    *review = p->review;
}

const struct dlqproc_stats *dlqproc_stats(const struct dlqproc *p)
{
    return &p->stats;
}
