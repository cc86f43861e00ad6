/*
 * scan_confirm.c - what a complete scan concludes about the records it did
 * not see, confirmed one by one before anything is concluded.
 *
 * A complete full scan (reconciliation) would take every live record it
 * did not list for deleted, and a complete scan in hold mode would keep a
 * held record it did not list held forever.  But the count rule (distinct
 * ids == meta.total) cannot prove nothing was missed: a record deleted on a
 * page already read lets a record of the next page slide onto it unseen,
 * and a record created meanwhile keeps the count.  So each such candidate
 * is read back with GET /{resource}/{id} through the tenant's VOMO lane
 * (rate gate, breaker, retry budget): only a 404 confirms it gone (it is
 * then deleted, its hold ended); a 200 is applied as a change like any
 * record of a page; any other answer leaves it for the next scan.
 *
 * A reconciliation with more candidates than poll.reconcile_max_deletes,
 * or than a tenth of the held records (beyond RECONCILE_SMALL), reads none
 * of them and deletes nothing: that is more likely a VOMO fault or a wrong
 * token than an organization that deleted so much, so it is logged as an
 * error and left in reconcile_blocks for a person (`status` shows it).
 */
#include "scan_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "sign.h"

/* Up to this many candidates, the one-tenth bound does not apply (a small
 * organization deleting a few records is not suspicious). */
#define RECONCILE_SMALL 10

/* One candidate: the GET, then (for a 200) its delivery. */
struct confirm {
    struct call call;
    struct scan *s;
    char *id;
    bool live; /* the destination holds it (a deletion would be sent) */
    struct vomo_record rec;
    bool have_rec;
    struct rec_work rw;
};

static void confirms_end(struct scan *s);
static void confirm_fill(struct scan *s);

static void add_candidate(struct scan *s, const char *id, bool live)
{
    for (size_t i = 0; i < s->ncands; i++)
        if (strcmp(s->cands[i].id, id) == 0)
            return;
    s->cands = xrealloc(s->cands, (s->ncands + 1) * sizeof(*s->cands));
    s->cands[s->ncands] = (struct confirm){.s = s, .id = xstrdup(id), .live = live};
    s->ncands++;
}

/* The live records, walked once: counted (the one-tenth bound) and those
 * the scan did not list made candidates. */
struct live_walk {
    struct scan *s;
    int64_t live;
};

static int collect_live(const char *id, void *arg)
{
    struct live_walk *w = arg;
    w->live++;
    if (!idset_get(&w->s->seen, id, NULL))
        add_candidate(w->s, id, true);
    return 0;
}

static int collect_held(const char *id, void *arg)
{
    struct scan *s = arg;
    if (!idset_get(&s->seen, id, NULL)) {
        struct record_state st;
        int rc = store_record_get(s->e->store, s->t->name, s->resource, id, &st);
        add_candidate(s, id, rc == 0 && !st.deleted);
    }
    return 0;
}

static void drop_candidates(struct scan *s)
{
    for (size_t i = 0; i < s->ncands; i++)
        free(s->cands[i].id);
    s->ncands = 0;
}

/* Whether so many candidates must wait for a person. */
static bool over_bound(const struct scan *s, size_t n, int64_t live)
{
    int64_t cand = (int64_t)n;
    return cand > s->e->cfg->reconcile_max_deletes || (cand > RECONCILE_SMALL && cand * 10 > live);
}

/* A reconciliation's candidates: the live records it did not list, unless
 * they exceed the bound (then none, and a person is told). */
static void collect_reconcile(struct scan *s)
{
    struct store *st = s->e->store;
    struct log_fields f = scan_log_fields(s);
    /* One walk of the records, not a count(*) and then the walk: each
     * reads every row of the resource. */
    struct live_walk w = {.s = s};
    if (store_record_each_live(st, s->t->name, s->resource, collect_live, &w) < 0) {
        log_emit(LOG_ERROR, &f, "reconciliation skipped: %s", store_errmsg(st));
        drop_candidates(s); /* some ids may have been listed before the error */
        return;
    }
    int64_t live = w.live;
    size_t n = s->ncands;
    int64_t allowed = 0;
    if (store_reconcile_allowed(st, s->t->name, s->resource, &allowed) < 0)
        allowed = 0;
    if (n && s->seen.count == 0) {
        log_emit(LOG_WARN, &f,
                 "VOMO listed no %s at all while %zu are held: deleting nothing; check the "
                 "organization in VOMO",
                 s->resource, n);
    } else if (n && over_bound(s, n, live) && (int64_t)n > allowed) {
        char now[TS_LEN];
        scan_now(now);
        log_emit(LOG_ERROR, &f,
                 "reconciliation found %zu of %lld held %s missing from VOMO, more than it may "
                 "delete at once (poll.reconcile_max_deletes = %lld, or a tenth of those held): "
                 "deleting nothing. Check the organization and the token in VOMO; if the "
                 "deletions are real, `vomo-sync reconcile allow %s %s` lets the next "
                 "reconciliation make them (`vomo-sync status` shows this until then)",
                 n, (long long)live, s->resource, (long long)s->e->cfg->reconcile_max_deletes,
                 s->t->name, s->resource);
        if (store_reconcile_block_set(st, s->t->name, s->resource, (int64_t)n, live,
                                      s->e->cfg->reconcile_max_deletes, s->trace_id, now) < 0)
            log_emit(LOG_ERROR, &f, "could not record it: %s", store_errmsg(st));
    } else {
        if (store_reconcile_block_clear(st, s->t->name, s->resource) < 0)
            log_emit(LOG_ERROR, &f, "%s", store_errmsg(st));
        return;
    }
    drop_candidates(s);
}

/* ---- one candidate ---- */

static void confirm_end(struct confirm *cf)
{
    struct scan *s = cf->s;
    s->cands_open--;
    confirm_fill(s);
}

/* Runs fn in its own transaction; a failure fails the scan (the
 * checkpoint stays, the next scan sees the record again). */
static void write_one(struct scan *s, struct confirm *cf,
                      int (*fn)(struct scan *s, struct rec_work *rw, const char *now))
{
    struct store *st = s->e->store;
    char now[TS_LEN];
    scan_now(now);
    int rc = store_begin(st);
    if (rc == 0)
        rc = fn(s, &cf->rw, now);
    if (rc == 0)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        scan_fail(s, "state database write failed", store_errmsg(st));
    }
}

/* Gives back the candidate's claim on its record (idle: nothing). */
static void confirm_release(struct confirm *cf)
{
    claim_release(&cf->s->t->dest->claims, &cf->rw.claim);
}

static void on_delivered(struct delivery *dl, const struct delivery_result *r)
{
    struct rec_work *rw = container_of(dl, struct rec_work, dl);
    struct confirm *cf = container_of(rw, struct confirm, rw);
    struct scan *s = cf->s;
    if (r->cancelled) {
        s->aborted = true;
    } else if (r->cls == EC_NONE) {
        write_one(s, cf, scan_write_applied);
        s->n_applied++;
    } else {
        rw->cls = r->cls;
        rw->review = r->treatment == TR_DEAD_LETTER;
        rw->status = r->status;
        snprintf(rw->msg, sizeof(rw->msg), "%s", r->message);
        write_one(s, cf, scan_write_failure);
        s->n_failed++;
    }
    confirm_release(cf);
    confirm_end(cf);
}

/*
 * Decides a record VOMO still has, with its claim held: skipped when the
 * destination holds it already, else delivered.  The claim is held until
 * the outcome is written (on_delivered), so a DLQ delivery of the same
 * record can neither overtake this one nor be overtaken by it.
 */
static void decide_found(struct scan *s, struct confirm *cf)
{
    struct rec_work *rw = &cf->rw;
    rw->look = (struct record_lookup){
        .id = cf->rec.id, .updated_at = cf->rec.updated_at, .hash = rw->hash};
    int skip = store_lookup_page(s->e->store, s->t->name, s->resource, &rw->look, 1);
    if (skip < 0)
        scan_fail(s, "state database read failed", store_errmsg(s->e->store));
    else
        skip = rw->look.unchanged || rw->look.open_same || rw->look.settled;
    if (skip != 0) {
        /* Held and already where it belongs (or owned by a dead letter): the
         * hold has nothing left to wait for. */
        if (skip > 0 && s->t->mode == CKPT_HOLD &&
            store_hold_clear(s->e->store, s->t->name, s->resource, cf->id) < 0)
            scan_fail(s, "state database write failed", store_errmsg(s->e->store));
        s->n_skipped += skip > 0;
        confirm_release(cf);
        confirm_end(cf);
        return;
    }
    rw->dl = (struct delivery){.resource = s->resource,
                               .id = cf->rec.id,
                               .updated_at = cf->rec.updated_at,
                               .payload = cf->rec.payload,
                               .trace_id = s->trace_id,
                               .done = on_delivered};
    dest_deliver(s->t->dest, &rw->dl);
}

/* Another delivery of the record (the DLQ processor's) has ended: decide
 * again from what it left. */
static void on_found_granted(struct claim *c)
{
    struct rec_work *rw = container_of(c, struct rec_work, claim);
    struct confirm *cf = container_of(rw, struct confirm, rw);
    decide_found(cf->s, cf);
}

/* VOMO still has it (it was missed, not deleted): applied like a change. */
static void found(struct scan *s, struct confirm *cf)
{
    struct log_fields f = scan_log_fields(s);
    f.record_id = cf->id;
    if (s->fetch)
        log_emit(LOG_DEBUG, &f, "record %s read by id", cf->id);
    else
        log_emit(LOG_INFO, &f,
                 "record %s was not listed but VOMO still has it (it moved between pages): kept",
                 cf->id);
    struct rec_work *rw = &cf->rw;
    rw->rec = &cf->rec;
    sign_sha256_hex(cf->rec.payload, strlen(cf->rec.payload), rw->hash);
    rw->claim = (struct claim){.granted = on_found_granted, .owner = cf};
    if (claim_take(&s->t->dest->claims, &rw->claim, s->resource, cf->rec.id))
        decide_found(s, cf);
}

/* VOMO answered 404: gone.  Its hold ends now; a record the destination
 * holds is deleted with the others once every candidate is read. */
static void gone(struct scan *s, struct confirm *cf)
{
    if (s->t->mode == CKPT_HOLD) {
        int rc = store_hold_clear(s->e->store, s->t->name, s->resource, cf->id);
        if (rc < 0 && rc != -ENOENT)
            scan_fail(s, "state database write failed", store_errmsg(s->e->store));
    }
    if (cf->live) {
        s->dels = xrealloc(s->dels, (s->ndels + 1) * sizeof(*s->dels));
        s->dels[s->ndels] = (struct del_work){.s = s, .id = xstrdup(cf->id)};
        s->ndels++;
    }
}

static int confirm_check(struct call *c, const struct http_response *resp)
{
    struct confirm *cf = container_of(c, struct confirm, call);
    const char *err = NULL;
    if (cf->have_rec)
        vomo_record_free(&cf->rec);
    cf->have_rec = false;
    if (vomo_parse_record(resp->body, resp->body_len, &cf->rec, &err) < 0)
        return -1;
    cf->have_rec = true;
    return cf->rec.error || strcmp(cf->rec.id, cf->id) != 0 ? -1 : 0;
}

static void on_confirmed(struct call *c, const struct call_result *r)
{
    struct confirm *cf = container_of(c, struct confirm, call);
    struct scan *s = cf->s;
    bool cancelled = r->cancelled;
    enum err_class cls = r->cls;
    enum treatment tr = r->treatment;
    uint64_t sent_tag = c->sent_tag;
    /* A 404 confirms a deletion only once every attempt of [retry] saw
     * it: when the retry budget (or a closing lane) cut the retries short,
     * fewer 404s prove less, and the next scan asks again. */
    int confirming = c->backoff ? c->backoff->max_attempts : 1;
    char msg[256];
    snprintf(msg, sizeof(msg), "%s", r->message);
    if (s->fetch) {
        s->answer.attempts = r->attempts;
        snprintf(s->answer.message, sizeof(s->answer.message), "%s", cancelled ? msg : r->message);
    }
    call_release(c);
    if (cancelled) {
        s->aborted = true;
    } else if (cls == EC_NOT_FOUND && r->attempts >= confirming) {
        gone(s, cf);
    } else if (cls == EC_NOT_FOUND) {
        struct log_fields f = scan_log_fields(s);
        f.record_id = cf->id;
        f.error_class = err_class_name(cls);
        log_emit(LOG_WARN, &f,
                 "record %s answered 404 to %d of the %d attempts that confirm a deletion "
                 "(the retry budget refused the rest): it is neither deleted nor released "
                 "now; the next scan asks again",
                 cf->id, r->attempts, confirming);
        s->n_deferred++;
    } else if (cls == EC_NONE && cf->have_rec) {
        found(s, cf);
        return;
    } else {
        struct log_fields f = scan_log_fields(s);
        f.record_id = cf->id;
        f.error_class = err_class_name(cls);
        if (s->fetch)
            log_emit(LOG_INFO, &f, "reading record %s by id failed (%s): the next scan has it",
                     cf->id, msg);
        else
            log_emit(LOG_WARN, &f,
                     "record %s was not listed, and reading it failed (%s): it is neither "
                     "deleted nor released now; the next scan asks again",
                     cf->id, msg);
        s->n_deferred++;
        if (tr == TR_STOP_TENANT)
            tenant_auth_failed(s->t, sent_tag, s->trace_id, msg);
    }
    confirm_end(cf);
}

/* A fetch keeps each attempt's answer for its owner, who may have to
 * answer someone before the retries end. */
static void fetch_attempt(struct call *c, const struct http_response *resp, enum err_class cls)
{
    struct confirm *cf = container_of(c, struct confirm, call);
    struct scan_fetch_answer *a = &cf->s->answer;
    a->answered = true;
    a->status = resp->status;
    a->curl_code = resp->curl_code;
    a->cls = cls;
    a->attempts = c->attempt;
    free(a->body);
    a->body = NULL;
    a->body_len = 0;
    if (resp->curl_code == CURLE_OK) {
        a->body = xstrndup(resp->body, resp->body_len);
        a->body_len = resp->body_len;
    }
    if (cf->s->fetch_opts.on_answer)
        cf->s->fetch_opts.on_answer(cf->s);
}

static void start_confirm(struct scan *s, struct confirm *cf)
{
    struct engine *e = s->e;
    char *url = vomo_get_url(e->cfg->base_url, s->resource, cf->id);
    const char *headers[] = {s->t->auth_header, "Accept: application/json", NULL};
    call_init(&cf->call, "GET", url, NULL, 0, headers);
    free(url);
    struct call *c = &cf->call;
    c->lane = &s->t->vomo_lane;
    c->http = &e->http;
    c->ctx = OP_VOMO_GET;
    c->backoff = &e->retry_policy;
    c->budget = &s->t->budget;
    c->breaker = &e->vomo_breaker;
    c->gate = &s->t->gate;
    c->timeout_ms = e->cfg->request_timeout_ms;
    c->connect_timeout_ms = e->cfg->connect_timeout_ms;
    if (s->fetch) {
        int64_t t = s->fetch_opts.timeout_ms;
        if (t > 0 && t < c->timeout_ms)
            c->timeout_ms = t;
        if (c->connect_timeout_ms > c->timeout_ms)
            c->connect_timeout_ms = c->timeout_ms;
        c->on_attempt = fetch_attempt;
    }
    c->max_response = (size_t)e->cfg->max_response_size;
    c->tenant = s->t->name;
    c->resource = s->resource;
    c->record_id = cf->id;
    c->trace_id = s->trace_id;
    c->check = confirm_check;
    c->done = on_confirmed;
    c->before_send = tenant_authorize;
    c->arg = s->t;
    s->cands_open++;
    call_start(c);
}

/* ---- all of them ---- */

static void confirm_fill(struct scan *s)
{
    const struct lane *lane = &s->t->vomo_lane;
    /* A stopped lane would cancel a new request synchronously, ending the
     * scan inside this loop: once it stops, nothing starts. */
    bool halt = s->failed || s->aborted || s->e->stopping || lane->stopped || lane->closing;
    while (!halt && s->cands_open < (size_t)s->e->cfg->max_concurrency && s->next_cand < s->ncands)
        start_confirm(s, &s->cands[s->next_cand++]);
    if (s->cands_open > 0)
        return;
    if (s->next_cand < s->ncands)
        s->aborted = s->aborted || !s->failed; /* stopping: the rest waits for the next run */
    confirms_end(s);
}

static void confirms_end(struct scan *s)
{
    for (size_t i = 0; i < s->ncands; i++) {
        if (s->cands[i].have_rec)
            vomo_record_free(&s->cands[i].rec);
        free(s->cands[i].id);
    }
    free(s->cands);
    s->cands = NULL;
    s->ncands = s->next_cand = 0;
    scan_deliver_deletions(s);
}

void scan_confirm_start(struct scan *s)
{
    struct log_fields f = scan_log_fields(s);
    if (s->full)
        collect_reconcile(s);
    if (s->t->mode == CKPT_HOLD &&
        store_hold_each(s->e->store, s->t->name, s->resource, collect_held, s) < 0)
        log_emit(LOG_ERROR, &f, "held records not checked: %s", store_errmsg(s->e->store));
    if (s->ncands)
        log_emit(LOG_DEBUG, &f, "reading %zu records back that the scan did not see", s->ncands);
    confirm_fill(s);
}

/* ---- one record by id (scan.h) ---- */

struct scan *scan_fetch_new(struct tenant *t, enum resource res, const char *id,
                            const struct scan_fetch_opts *o, scan_done_fn done)
{
    struct scan *s = xcalloc(1, sizeof(*s));
    s->slot = &t->slots[res];
    s->t = t;
    s->e = t->eng;
    s->resource = resource_name(res);
    s->done = done;
    s->fetch = true;
    s->fetch_opts = *o;
    s->pass = 1;
    s->max_total = -1;
    s->started_mono = clock_mono_ms();
    scan_now(s->started_at);
    idset_init(&s->seen);
    trace_id_new(s->trace_id);
    struct record_state st;
    int rc = store_record_get(s->e->store, t->name, s->resource, id, &st);
    s->answer.was_held = rc == 0 && !st.deleted;
    add_candidate(s, id, s->answer.was_held);
    return s;
}

void scan_fetch_run(struct scan *s)
{
    struct log_fields f = scan_log_fields(s);
    f.record_id = s->cands[0].id;
    log_emit(LOG_DEBUG, &f, "reading record %s by id", s->cands[0].id);
    confirm_fill(s);
}

const struct scan_fetch_answer *scan_fetch_answer(const struct scan *s)
{
    return &s->answer;
}

void *scan_fetch_arg(const struct scan *s)
{
    return s->fetch_opts.arg;
}
