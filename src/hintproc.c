/*
 * hintproc.c - the hint processor of hintproc.h.  A batch is every pending
 * hint in vomo_hints, grouped by (tenant, resource); each group becomes
 * reads by id (deletions always, other records while they are few) or one
 * early scan, and each hint's row gets the outcome of the work it caused.
 * Hints whose record is being read already wait for that read to end (it
 * may have read the version before theirs), then are read again.
 */
#include "hintproc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "engine.h"
#include "hintpace.h"
#include "log.h"
#include "obs.h"
#include "recordfetch.h"
#include "store_hints.h"
#include "tenant.h"
#include "vomohint.h"

#define HINTPROC_BATCH_ROWS 1000
#define HINTPROC_SCAN_BUSY_MS 200 /* a scan runs: look again this soon */

/* One read by id, and the hints it answers. */
struct fetch {
    struct hintproc *p;
    struct recordfetch *rf;
    char *tenant;
    enum resource res;
    char id[128];
    int64_t *rows;
    char (*labels)[32];
    size_t nrows;
    bool deletion; /* a deletion hint asked for it (paced, HINTPROC_DELETE_FETCHES) */
    struct fetch *next;
};

/* A record read lately: its hints wait until HINTPROC_REREAD_MS after that
 * read began, so a burst of hints of one record costs two reads. */
struct recent {
    char *tenant;
    enum resource res;
    char id[128];
    int64_t at_ms;
    struct recent *next;
};

/* What the processor remembers of one (tenant, resource). */
struct res_state {
    char *tenant;
    enum resource res;
    bool has_early;
    int64_t last_early_ms; /* monotonic: when its last early scan was asked for */
    bool triggered;        /* that scan has not ended yet */
    int64_t scans_at_trigger;
    int64_t hint_changes, poll_changes;
    struct hintpace pace; /* the starts of its deletion reads */
    struct res_state *next;
};

struct hintproc {
    struct engine *e;
    uv_timer_t timer;
    int64_t timer_due; /* monotonic ms the timer fires at; INT64_MAX when idle */
    int64_t next_prune_ms;
    struct fetch *fetches;
    struct res_state *states;
    struct recent *recent;
    bool closing;
    void (*closed)(void *arg);
    void *closed_arg;
    struct hintproc_stats stats;
};

/* One batch's hints of one (tenant, resource). */
struct group {
    struct tenant *t;
    enum resource res;
    struct hint_row **fetch_rows; /* hints naming a record, in order */
    size_t nfetch;
    struct hint_row **scan_rows; /* hints the early scan answers */
    size_t nscan;
};

static void on_timer(uv_timer_t *timer);

/* ---- bookkeeping ---- */

static struct res_state *state_of(struct hintproc *p, const char *tenant, enum resource res)
{
    for (struct res_state *s = p->states; s; s = s->next)
        if (s->res == res && strcmp(s->tenant, tenant) == 0)
            return s;
    struct res_state *s = xcalloc(1, sizeof(*s));
    s->tenant = xstrdup(tenant);
    s->res = res;
    s->next = p->states;
    p->states = s;
    return s;
}

static void publish_gap(const struct res_state *s)
{
    int64_t all = s->hint_changes + s->poll_changes;
    if (all > 0)
        obs_hint_gap(s->tenant, resource_name(s->res), (double)s->poll_changes / (double)all);
}

static struct fetch *fetch_of(struct hintproc *p, const char *tenant, enum resource res,
                              const char *id)
{
    for (struct fetch *f = p->fetches; f; f = f->next)
        if (f->res == res && strcmp(f->id, id) == 0 && strcmp(f->tenant, tenant) == 0)
            return f;
    return NULL;
}

/* Forgets reads older than HINTPROC_REREAD_MS. */
static void recent_prune(struct hintproc *p, int64_t now)
{
    for (struct recent **pp = &p->recent; *pp;) {
        struct recent *r = *pp;
        if (now - r->at_ms >= HINTPROC_REREAD_MS) {
            *pp = r->next;
            free(r->tenant);
            free(r);
        } else {
            pp = &r->next;
        }
    }
}

/* How long hints of this record must still wait (0: not at all). */
static int64_t recent_wait(const struct hintproc *p, const char *tenant, enum resource res,
                           const char *id, int64_t now)
{
    for (const struct recent *r = p->recent; r; r = r->next)
        if (r->res == res && strcmp(r->id, id) == 0 && strcmp(r->tenant, tenant) == 0)
            return HINTPROC_REREAD_MS - (now - r->at_ms);
    return 0;
}

/* Reads of the resource begun in the last HINTPROC_REREAD_MS. */
static size_t recent_reads(const struct hintproc *p, const char *tenant, enum resource res)
{
    size_t n = 0;
    for (const struct recent *r = p->recent; r; r = r->next)
        n += r->res == res && strcmp(r->tenant, tenant) == 0;
    return n;
}

static void recent_add(struct hintproc *p, const char *tenant, enum resource res, const char *id)
{
    struct recent *r = xcalloc(1, sizeof(*r));
    r->tenant = xstrdup(tenant);
    r->res = res;
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->at_ms = clock_mono_ms();
    r->next = p->recent;
    p->recent = r;
}

/* Reads in flight for the tenant; only those deletion hints asked for
 * when `deletions`. */
static int tenant_fetches(const struct hintproc *p, const char *tenant, bool deletions)
{
    int n = 0;
    for (const struct fetch *f = p->fetches; f; f = f->next)
        n += strcmp(f->tenant, tenant) == 0 && (!deletions || f->deletion);
    return n;
}

/* Runs the timer at `delay_ms` from now unless it runs sooner already. */
static void arm(struct hintproc *p, int64_t delay_ms)
{
    if (p->closing)
        return;
    int64_t due = clock_mono_ms() + delay_ms;
    if (uv_is_active((uv_handle_t *)&p->timer) && p->timer_due <= due)
        return;
    p->timer_due = due;
    uv_timer_start(&p->timer, on_timer, (uint64_t)delay_ms, 0);
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

/* Writes outcomes of hints: one transaction for all of them. */
static void finish_rows(struct hintproc *p, const int64_t *ids, const char (*labels)[32],
                        const char *tenant, size_t n, const char *outcome)
{
    struct store *st = p->e->store;
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    int rc = store_begin(st);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = store_hint_finish(st, ids[i], outcome, now);
    if (rc == 0)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        log_error("hints: outcomes not saved (%s): the hints stay pending and are taken again",
                  store_errmsg(st));
        return;
    }
    for (size_t i = 0; i < n; i++)
        obs_hint(tenant, labels[i], outcome);
}

/* The same for rows of a batch. */
static void finish_batch_rows(struct hintproc *p, struct hint_row **rows, size_t n,
                              const char *outcome)
{
    if (n == 0)
        return;
    int64_t *ids = xcalloc(n, sizeof(*ids));
    char(*labels)[32] = xcalloc(n, sizeof(*labels));
    for (size_t i = 0; i < n; i++) {
        ids[i] = rows[i]->id;
        vomohint_type_label(rows[i]->type, labels[i]);
    }
    finish_rows(p, ids, (const char(*)[32])labels, rows[0]->tenant, n, outcome);
    free(ids);
    free(labels);
}

/* ---- reads by id ---- */

static const char *fetch_outcome(const struct recordfetch_result *r)
{
    switch (r->outcome) {
    case RECORDFETCH_APPLIED:
        return "applied";
    case RECORDFETCH_SKIPPED:
        return "skipped";
    case RECORDFETCH_DELETED:
        return "deleted";
    case RECORDFETCH_GONE:
        return "gone";
    default:
        return r->unreachable || r->breaker_open ? "unreachable" : "failed";
    }
}

static void fetch_free(struct fetch *f)
{
    struct hintproc *p = f->p;
    for (struct fetch **pp = &p->fetches; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    free(f->tenant);
    free(f->rows);
    free(f->labels);
    free(f);
}

static void on_fetched(const struct recordfetch_result *r, void *arg)
{
    struct fetch *f = arg;
    struct hintproc *p = f->p;
    if (!r->cancelled) {
        const char *outcome = fetch_outcome(r);
        struct log_fields lf = {.tenant = f->tenant,
                                .resource = resource_name(f->res),
                                .record_id = f->id,
                                .delay_ms = LOG_NO_DELAY};
        log_emit(LOG_INFO, &lf, "hint: record %s read from VOMO: %s (%zu hint(s))", f->id, outcome,
                 f->nrows);
        finish_rows(p, f->rows, (const char(*)[32])f->labels, f->tenant, f->nrows, outcome);
        if (r->outcome == RECORDFETCH_APPLIED || r->outcome == RECORDFETCH_DELETED) {
            struct res_state *s = state_of(p, f->tenant, f->res);
            s->hint_changes++;
            p->stats.hint_changes++;
            publish_gap(s);
        }
    }
    fetch_free(f);
    arm(p, 0); /* hints that waited for this read, or for a free place */
}

/* Reads one record for the hints rows[0..n); false when it cannot start
 * now (they stay pending). */
static bool start_fetch(struct hintproc *p, struct group *g, const char *id, struct hint_row **rows,
                        size_t n, bool deletion)
{
    if (tenant_fetches(p, g->t->name, false) >= HINTPROC_FETCHES)
        return false;
    struct fetch *f = xcalloc(1, sizeof(*f));
    f->p = p;
    f->tenant = xstrdup(g->t->name);
    f->res = g->res;
    snprintf(f->id, sizeof(f->id), "%s", id);
    f->rows = xcalloc(n, sizeof(*f->rows));
    f->labels = xcalloc(n, sizeof(*f->labels));
    f->nrows = n;
    f->deletion = deletion;
    for (size_t i = 0; i < n; i++) {
        f->rows[i] = rows[i]->id;
        vomohint_type_label(rows[i]->type, f->labels[i]);
    }
    struct recordfetch_opts o = {0};
    int rc =
        recordfetch_start(p->e, g->t->name, resource_name(g->res), id, &o, on_fetched, f, &f->rf);
    if (rc < 0) {
        if (rc != -ESHUTDOWN)
            finish_rows(p, f->rows, (const char(*)[32])f->labels, f->tenant, n, "ignored");
        free(f->tenant);
        free(f->rows);
        free(f->labels);
        free(f);
        return rc != -ESHUTDOWN;
    }
    f->next = p->fetches;
    p->fetches = f;
    p->stats.fetches++;
    recent_add(p, g->t->name, g->res, id);
    return true;
}

/* ---- early scans ---- */

/* Moves the resource's next scan to now, unless one runs (then one after
 * it) or one was asked for less than HINTPROC_SCAN_GAP_MS ago.  true when
 * the hints of the group are answered; *wait_ms shrinks to when to look
 * again otherwise. */
static bool early_scan(struct hintproc *p, struct group *g, int64_t now, int64_t *wait_ms)
{
    struct slot *slot = &g->t->slots[g->res];
    struct res_state *s = state_of(p, g->t->name, g->res);
    if (slot->scan) {
        *wait_ms = *wait_ms < HINTPROC_SCAN_BUSY_MS ? *wait_ms : HINTPROC_SCAN_BUSY_MS;
        return false;
    }
    if (s->has_early && now - s->last_early_ms < HINTPROC_SCAN_GAP_MS) {
        int64_t left = HINTPROC_SCAN_GAP_MS - (now - s->last_early_ms);
        *wait_ms = *wait_ms < left ? *wait_ms : left;
        return false;
    }
    struct log_fields lf = {
        .tenant = g->t->name, .resource = resource_name(g->res), .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_INFO, &lf, "hint: %zu hint(s) of %s: scanning it now", g->nscan,
             resource_name(g->res));
    slot_schedule(slot, 0);
    s->has_early = true;
    s->last_early_ms = now;
    s->triggered = true;
    s->scans_at_trigger = slot->scans_finished;
    p->stats.early_scans++;
    return true;
}

/* ---- a batch ---- */

static struct group *group_of(struct group **gs, size_t *n, struct tenant *t, enum resource res)
{
    for (size_t i = 0; i < *n; i++)
        if ((*gs)[i].t == t && (*gs)[i].res == res)
            return &(*gs)[i];
    *gs = xrealloc(*gs, (*n + 1) * sizeof(**gs));
    (*gs)[*n] = (struct group){.t = t, .res = res};
    return &(*gs)[(*n)++];
}

static void push_row(struct hint_row ***list, size_t *n, struct hint_row *r)
{
    *list = xrealloc(*list, (*n + 1) * sizeof(**list));
    (*list)[(*n)++] = r;
}

/* Sorts one pending hint into its group; false when it is answered at
 * once (ignored) or must wait (its tenant is stopped, its record read). */
static bool sort_row(struct hintproc *p, struct hint_row *r, struct group **gs, size_t *ng,
                     int64_t now, int64_t *wait_ms)
{
    enum resource res;
    struct tenant *t = engine_tenant(p->e, r->tenant);
    if (!t || t->closing || !r->resource || resource_parse(r->resource, &res) < 0 ||
        !(t->resources & RES_BIT(res))) {
        finish_batch_rows(p, &r, 1, "ignored");
        return false;
    }
    if (t->status != TENANT_OK || t->slots[res].forbidden) {
        /* It cannot read VOMO now; its polls catch up once it can. */
        finish_batch_rows(p, &r, 1, "failed");
        return false;
    }
    if (r->record_id && fetch_of(p, t->name, res, r->record_id))
        return false;
    int64_t wait = r->record_id ? recent_wait(p, t->name, res, r->record_id, now) : 0;
    if (wait > 0) {
        *wait_ms = *wait_ms < wait ? *wait_ms : wait;
        return false;
    }
    struct group *g = group_of(gs, ng, t, res);
    if (r->record_id)
        push_row(&g->fetch_rows, &g->nfetch, r);
    else
        push_row(&g->scan_rows, &g->nscan, r);
    return true;
}

static size_t distinct_updates(const struct group *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->nfetch; i++) {
        const struct hint_row *r = g->fetch_rows[i];
        if (ends_with(r->type, ".deleted"))
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !ends_with(g->fetch_rows[j]->type, ".deleted") &&
                   strcmp(g->fetch_rows[j]->record_id, r->record_id) == 0;
        n += !seen;
    }
    return n;
}

static bool any_deletion(struct hint_row **rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ends_with(rows[i]->type, ".deleted"))
            return true;
    return false;
}

/*
 * Whether a read of a record with a deletion hint may begin now: the
 * resource's pace (hintpace.h, poll.hint_delete_interval) has a token.
 * When it has none, the record's hints stay pending in vomo_hints (they
 * are recorded already) and are read in turn; *wait_ms shrinks to when the
 * next token arrives.  Nothing is concluded from a waiting hint.
 */
static bool deletion_paced(struct hintproc *p, struct group *g, int64_t now, int64_t *wait_ms)
{
    struct res_state *s = state_of(p, g->t->name, g->res);
    int64_t interval = p->e->cfg->hint_delete_interval_ms;
    if (hintpace_take(&s->pace, interval, now))
        return true;
    int64_t left = hintpace_wait(&s->pace, interval, now);
    if (left < 1)
        left = 1;
    *wait_ms = *wait_ms < left ? *wait_ms : left;
    return false;
}

/* Reads the group's records one by one (each record once, for all its
 * hints); when the resource had HINTPROC_FETCH_MAX reads in the last
 * HINTPROC_REREAD_MS, with these, its updates go to the early scan
 * instead (deletions are always read: no scan lists them, but their reads
 * begin at the resource's pace). */
static void work_fetches(struct hintproc *p, struct group *g, int64_t now, int64_t *wait_ms)
{
    size_t reads = recent_reads(p, g->t->name, g->res) + distinct_updates(g);
    bool scan_updates = g->nscan > 0 || reads > HINTPROC_FETCH_MAX;
    bool *done = xcalloc(g->nfetch + 1, sizeof(*done));
    struct hint_row **same = xcalloc(g->nfetch + 1, sizeof(*same));
    bool full = false, deletions_full = false;
    for (size_t i = 0; i < g->nfetch; i++) {
        struct hint_row *r = g->fetch_rows[i];
        if (done[i])
            continue;
        if (scan_updates && !ends_with(r->type, ".deleted")) {
            push_row(&g->scan_rows, &g->nscan, r);
            done[i] = true;
            continue;
        }
        size_t n = 0;
        for (size_t j = i; j < g->nfetch; j++)
            if (!done[j] && strcmp(g->fetch_rows[j]->record_id, r->record_id) == 0 &&
                (!scan_updates || ends_with(g->fetch_rows[j]->type, ".deleted"))) {
                same[n++] = g->fetch_rows[j];
                done[j] = true;
            }
        /* No free place: the rest waits for a read to end (their updates
         * still go to the scan). */
        full = full || tenant_fetches(p, g->t->name, false) >= HINTPROC_FETCHES;
        if (full)
            continue;
        /* Deletion reads (each up to retry.max_attempts GETs with their
         * backoff) leave a place free for the reads of updates. */
        bool deletion = any_deletion(same, n);
        deletions_full = deletions_full || (deletion && tenant_fetches(p, g->t->name, true) >=
                                                            HINTPROC_DELETE_FETCHES);
        if (deletion && (deletions_full || !deletion_paced(p, g, now, wait_ms)))
            continue;
        full = !start_fetch(p, g, r->record_id, same, n, deletion);
    }
    free(done);
    free(same);
}

static void work_batch(struct hintproc *p, int64_t now, int64_t *wait_ms)
{
    struct hint_row *rows = NULL;
    size_t n = 0;
    if (store_hints_pending(p->e->store, HINTPROC_BATCH_ROWS, &rows, &n) < 0) {
        log_error("hints: pending hints not read: %s", store_errmsg(p->e->store));
        return;
    }
    if (n == 0)
        return;
    p->stats.batches++;
    struct group *gs = NULL;
    size_t ng = 0;
    recent_prune(p, now);
    for (size_t i = 0; i < n; i++)
        (void)sort_row(p, &rows[i], &gs, &ng, now, wait_ms);
    for (size_t i = 0; i < ng && !p->closing; i++) {
        struct group *g = &gs[i];
        work_fetches(p, g, now, wait_ms);
        if (g->nscan > 0 && early_scan(p, g, now, wait_ms))
            finish_batch_rows(p, g->scan_rows, g->nscan, "scanned");
        free(g->fetch_rows);
        free(g->scan_rows);
    }
    free(gs);
    store_hint_rows_free(rows, n);
}

static void prune(struct hintproc *p)
{
    int64_t wall = clock_wall_ms();
    char expire[TS_LEN], del[TS_LEN];
    ts_format(wall - STORE_HINTS_EXPIRE_MS, expire);
    ts_format(wall - STORE_HINTS_RETAIN_MS, del);
    int64_t gone = 0;
    if (store_hints_prune(p->e->store, expire, del, &gone) < 0)
        log_warn("hints: old hints not pruned: %s", store_errmsg(p->e->store));
    else if (gone > 0)
        log_debug("hints: %lld old hint(s) pruned", (long long)gone);
}

static void on_timer(uv_timer_t *timer)
{
    struct hintproc *p = timer->data;
    p->timer_due = INT64_MAX;
    if (p->closing || p->e->stopping)
        return;
    int64_t now = clock_mono_ms();
    if (now >= p->next_prune_ms) {
        prune(p);
        p->next_prune_ms = now + HINTPROC_PRUNE_MS;
    }
    int64_t wait = HINTPROC_TICK_MS;
    work_batch(p, now, &wait);
    arm(p, wait);
}

/* ---- public ---- */

struct hintproc *hintproc_new(struct engine *e)
{
    struct hintproc *p = xcalloc(1, sizeof(*p));
    p->e = e;
    p->timer_due = INT64_MAX;
    uv_timer_init(e->loop, &p->timer);
    p->timer.data = p;
    return p;
}

void hintproc_start(struct hintproc *p)
{
    p->next_prune_ms = 0;
    arm(p, 0); /* hints left pending by the last run */
}

void hintproc_kick(struct hintproc *p)
{
    if (p)
        arm(p, HINTPROC_BATCH_MS);
}

/* Whether the tenant takes VOMO's webhooks (the gap ratio means nothing
 * for one that does not). */
static bool hooks_enabled(const struct hintproc *p, const char *tenant)
{
    const struct config *cfg = p->e->cfg;
    for (size_t i = 0; i < cfg->ntenants; i++)
        if (strcmp(cfg->tenants[i].name, tenant) == 0)
            return cfg->tenants[i].vomo_webhook_secret_file != NULL;
    return false;
}

void hintproc_scan_done(struct hintproc *p, struct slot *slot, const char *status)
{
    if (!p || strcmp(status, "aborted") == 0)
        return; /* an aborted scan records no row */
    struct tenant *t = slot->tenant;
    if (!hooks_enabled(p, t->name))
        return;
    struct res_state *s = state_of(p, t->name, slot->res);
    bool incremental = false;
    int64_t applied = 0;
    if (store_scan_last(p->e->store, t->name, resource_name(slot->res), &incremental, &applied) < 0)
        return;
    bool ours = s->triggered && slot->scans_finished > s->scans_at_trigger;
    if (ours)
        s->triggered = false;
    if (!incremental)
        return; /* a backfill or reconciliation is neither */
    if (ours) {
        s->hint_changes += applied;
        p->stats.hint_changes += applied;
    } else {
        s->poll_changes += applied;
        p->stats.poll_changes += applied;
    }
    publish_gap(s);
}

const struct hintproc_stats *hintproc_stats(const struct hintproc *p)
{
    return &p->stats;
}

static void on_closed(uv_handle_t *h)
{
    struct hintproc *p = h->data;
    void (*closed)(void *) = p->closed;
    void *arg = p->closed_arg;
    while (p->recent) {
        struct recent *r = p->recent;
        p->recent = r->next;
        free(r->tenant);
        free(r);
    }
    while (p->states) {
        struct res_state *s = p->states;
        p->states = s->next;
        free(s->tenant);
        free(s);
    }
    free(p);
    if (closed)
        closed(arg);
}

void hintproc_close(struct hintproc *p, void (*closed)(void *arg), void *arg)
{
    if (!p || p->closing)
        return;
    p->closing = true;
    p->closed = closed;
    p->closed_arg = arg;
    while (p->fetches) {
        struct fetch *f = p->fetches;
        recordfetch_cancel(f->rf); /* its hints stay pending for the next start */
        fetch_free(f);
    }
    uv_close((uv_handle_t *)&p->timer, on_closed);
}
