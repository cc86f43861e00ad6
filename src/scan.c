/*
 * scan.c - one scan of one (tenant, resource), as described in scan.h and
 * ARCHITECTURE.md ("poller", "scan completeness", "skip rule").
 *
 * Pages are requested through the tenant's VOMO lane, at most
 * vomo.max_concurrency requests in flight, and at most SCAN_OPEN_PAGES
 * pages open (requested and not yet committed), so memory stays flat
 * whatever the dataset size.  A page is committed whole, in one
 * transaction, once each of its records is applied, skipped or failed
 * (pages decided close together share that transaction: group commit),
 * and the next request does not wait for that commit; a page that
 * cannot be parsed is retried as a request and applies nothing.  The checkpoint moves only when a
 * scan completes, after its last page committed, to min(newest updated_at processed, server time at
 * scan start - margin) (scan_end.c).  This file reads top-down: pages, records, group commit, then
 * the scan's start.
 */
#include "obs.h"
#include "scan_int.h"

#include <stdlib.h>
#include <string.h>

#include "dlqsched.h"
#include "engine.h"
#include "sign.h"

/*
 * Group commit: a decided page waits for the transaction (and the fsync) it
 * shares with the pages decided after it, at most SCAN_COMMIT_PAGES pages
 * and five times as long as the last commit took (so that commits, which
 * block the loop, take at most about a sixth of the time), within
 * SCAN_COMMIT_MIN_MS .. SCAN_COMMIT_MAX_MS.
 */
#define SCAN_COMMIT_PAGES 64
#define SCAN_COMMIT_MIN_MS 10
#define SCAN_COMMIT_MAX_MS 200
/* Pages of one scan open at once: in flight, being decided or awaiting
 * their commit (each holds its parsed records until it is committed). */
#define SCAN_OPEN_PAGES (SCAN_COMMIT_PAGES + 8)

struct log_fields scan_log_fields(const struct scan *s)
{
    return (struct log_fields){.tenant = s->t->name,
                               .resource = s->resource,
                               .trace_id = s->trace_id,
                               .delay_ms = LOG_NO_DELAY};
}

void scan_now(char out[TS_LEN])
{
    ts_format(clock_wall_ms(), out);
}

void scan_fail(struct scan *s, const char *what, const char *detail)
{
    if (!s->failed)
        snprintf(s->fail_msg, sizeof(s->fail_msg), "%s: %s", what, detail);
    s->failed = true;
}

/* ---- pages ---- */

static int page_check(struct call *c, const struct http_response *resp)
{
    struct page *pg = container_of(c, struct page, call);
    const char *err = NULL;
    if (pg->have_vp) {
        vomo_page_free(&pg->vp);
        pg->have_vp = false;
    }
    if (vomo_parse_page(resp->body, resp->body_len, &pg->vp, &err) < 0) {
        struct log_fields f = scan_log_fields(pg->s);
        f.error_class = "bad_data";
        f.http_status = (int)resp->status;
        log_emit(LOG_WARN, &f, "page %d is not a VOMO page (%s); it will be retried", pg->number,
                 err ? err : "unparseable");
        return -1;
    }
    pg->have_vp = true;
    return 0;
}

static void page_free(struct page *pg)
{
    /* The page is saved (or given up): what the destination holds is in
     * the records table, and a delivery waiting for one of its records
     * decides from that. */
    for (size_t i = 0; pg->work && i < pg->vp.count; i++)
        claim_release(&pg->s->t->dest->claims, &pg->work[i].claim);
    if (pg->have_vp)
        vomo_page_free(&pg->vp);
    free(pg->work);
    call_release(&pg->call);
    free(pg);
}

static void page_end(struct page *pg)
{
    struct scan *s = pg->s;
    page_free(pg);
    s->open_pages--;
    s->pages_done++;
    obs_scan_page(s->t->name, s->resource);
    scan_fill_window(s);
    if (s->open_pages == 0 &&
        (s->failed || s->aborted || s->e->stopping || s->next_page > s->last_page))
        scan_end_pass(s);
}

static void on_page(struct call *c, const struct call_result *r);

static void start_page(struct scan *s, int number)
{
    struct engine *e = s->e;
    struct page *pg = xcalloc(1, sizeof(*pg));
    pg->s = s;
    pg->number = number;
    char *url =
        vomo_list_url(e->cfg->base_url, s->resource, number, s->full ? NULL : s->updated_after);
    const char *headers[] = {s->t->auth_header, "Accept: application/json", NULL};
    call_init(&pg->call, "GET", url, NULL, 0, headers);
    free(url);
    struct call *c = &pg->call;
    c->lane = &s->t->vomo_lane;
    c->http = &e->http;
    c->ctx = OP_VOMO_LIST;
    c->backoff = &e->retry_policy;
    c->budget = &s->t->budget;
    c->breaker = &e->vomo_breaker;
    c->gate = &s->t->gate;
    c->timeout_ms = e->cfg->request_timeout_ms;
    c->connect_timeout_ms = e->cfg->connect_timeout_ms;
    c->max_response = (size_t)e->cfg->max_response_size;
    c->tenant = s->t->name;
    c->resource = s->resource;
    c->trace_id = s->trace_id;
    c->check = page_check;
    c->done = on_page;
    c->before_send = tenant_authorize;
    c->arg = s->t;
    s->open_pages++;
    s->fetching++;
    call_start(c);
}

void scan_fill_window(struct scan *s)
{
    int window = s->e->cfg->max_concurrency;
    /* A stopped lane would cancel a new page synchronously, ending (and
     * freeing) the scan inside this loop: once it stops, nothing starts. */
    const struct lane *lane = &s->t->vomo_lane;
    while (!s->failed && !s->aborted && !s->e->stopping && !lane->stopped && !lane->closing &&
           s->fetching < window && s->open_pages < SCAN_OPEN_PAGES && s->next_page <= s->last_page)
        start_page(s, s->next_page++);
    if (s->open_pages == 0 && (lane->stopped || lane->closing))
        s->aborted = true;
}

/* A page request ended for good with an error: say why, stop the scan. */
static void page_failed(struct page *pg, const struct call_result *r)
{
    struct scan *s = pg->s;
    struct log_fields f = scan_log_fields(s);
    f.error_class = err_class_name(r->cls);
    f.http_status = (int)r->status;
    f.attempt = r->attempts;
    if (r->treatment == TR_STOP_TENANT) {
        tenant_auth_failed(s->t, pg->call.sent_tag, s->trace_id, r->message);
    } else if (r->treatment == TR_STOP_OPERATION) {
        if (!s->slot->forbidden)
            log_emit(LOG_ERROR, &f,
                     "VOMO refused %s for this token (HTTP %ld): syncing %s is stopped until the "
                     "token changes or vomo-sync is reloaded; grant the token this scope",
                     s->resource, r->status, s->resource);
        s->slot->forbidden = true;
    } else {
        log_emit(LOG_ERROR, &f, "page %d failed: %s", pg->number, r->message);
    }
    scan_fail(s, "page request failed", r->message);
}

static void learn_meta(struct scan *s, struct page *pg, const struct http_response *resp)
{
    int64_t date_ms;
    if (!s->have_server_time && resp->date && ts_parse_http_date(resp->date, &date_ms) == 0) {
        s->server_start_ms = date_ms;
        s->have_server_time = true;
    } else if (!s->have_server_time && resp->date && !s->bad_date_logged) {
        /* An unusable Date must not become the checkpoint's cap. */
        struct log_fields f = {.tenant = s->t->name,
                               .resource = s->resource,
                               .trace_id = s->trace_id,
                               .delay_ms = LOG_NO_DELAY};
        log_emit(LOG_WARN, &f, "ignoring VOMO's Date header '%s': not an HTTP date in 0001..9999",
                 resp->date);
        s->bad_date_logged = true;
    }
    if (pg->vp.total > s->max_total)
        s->max_total = pg->vp.total;
    if (pg->vp.last_page > s->last_page)
        s->last_page = pg->vp.last_page;
    if (pg->vp.has_next && pg->number >= s->last_page)
        s->last_page = pg->number + 1;
}

static void process_records(struct page *pg);

static void on_page(struct call *c, const struct call_result *r)
{
    struct page *pg = container_of(c, struct page, call);
    struct scan *s = pg->s;
    s->fetching--;
    if (r->cancelled) {
        s->aborted = true;
        page_end(pg);
        return;
    }
    if (r->cls != EC_NONE || !pg->have_vp) {
        page_failed(pg, r);
        page_end(pg);
        return;
    }
    learn_meta(s, pg, r->resp);
    scan_fill_window(s);
    process_records(pg);
}

/* ---- records ---- */

static void commit_page(struct page *pg);

static void release(struct page *pg)
{
    if (--pg->outstanding == 0)
        commit_page(pg);
}

static void on_delivered(struct delivery *dl, const struct delivery_result *r)
{
    struct rec_work *rw = container_of(dl, struct rec_work, dl);
    if (r->cancelled) {
        rw->state = RW_CANCEL;
    } else if (r->cls == EC_NONE) {
        rw->state = RW_APPLY;
    } else {
        rw->state = RW_FAIL;
        rw->cls = r->cls;
        rw->review = r->treatment == TR_DEAD_LETTER;
        rw->status = r->status;
        snprintf(rw->msg, sizeof(rw->msg), "%s", r->message);
    }
    release(rw->pg);
}

/*
 * The skip rule, from the page's lookup: the destination already holds this
 * version with this content (or a newer version), an open dead letter owns
 * this version, or a person settled this version in the DLQ (discarded or
 * resolved it).
 */
static bool should_skip(const struct rec_work *rw)
{
    const struct record_lookup *l = &rw->look;
    return l->unchanged || l->open_same || l->settled;
}

/* Hands a record whose claim is held to the destination. */
static void deliver(struct scan *s, struct rec_work *rw)
{
    const struct vomo_record *rec = rw->rec;
    rw->dl = (struct delivery){.resource = s->resource,
                               .id = rec->id,
                               .updated_at = rec->updated_at,
                               .payload = rec->payload,
                               .trace_id = s->trace_id,
                               .done = on_delivered};
    dest_deliver(s->t->dest, &rw->dl);
}

/* The skip rule for one record on its own, from a fresh lookup: 1 to skip,
 * 0 to deliver, negative on a database error. */
static int recheck(struct scan *s, struct rec_work *rw)
{
    rw->look = (struct record_lookup){
        .id = rw->rec->id, .updated_at = rw->rec->updated_at, .hash = rw->hash};
    int rc = store_lookup_page(s->e->store, s->t->name, s->resource, &rw->look, 1);
    return rc < 0 ? rc : should_skip(rw);
}

/*
 * The delivery of this record that was in flight has ended and its outcome
 * is saved: the skip rule decides again from what the destination holds
 * now (the DLQ may have delivered this very version, or a newer one).
 */
static void on_claim_granted(struct claim *c)
{
    struct rec_work *rw = container_of(c, struct rec_work, claim);
    struct scan *s = rw->pg->s;
    int skip = s->failed || s->aborted || s->e->stopping ? -ECANCELED : recheck(s, rw);
    if (skip == 0) {
        deliver(s, rw);
        return;
    }
    if (skip > 0) {
        rw->state = RW_SKIP;
    } else {
        if (skip != -ECANCELED)
            scan_fail(s, "state database read failed", store_errmsg(s->e->store));
        rw->state = RW_CANCEL;
    }
    claim_release(&s->t->dest->claims, c);
    release(rw->pg);
}

/*
 * The record id a dead letter is filed under.  A record without a usable id
 * is filed under its content, so two such records are two dead letters and
 * the same one seen again is one.
 */
static const char *dlq_record_id(const struct rec_work *rw, char buf[32])
{
    if (rw->rec->id[0])
        return rw->rec->id;
    snprintf(buf, 32, "(unknown:%.16s)", rw->hash);
    return buf;
}

/*
 * Whether a dead letter already holds this malformed record as it is now,
 * open or closed: a scan that sees the same bytes again has nothing to add,
 * and one a person resolved or discarded does not come back until VOMO
 * serves something different.
 */
static bool malformed_known(struct scan *s, const struct rec_work *rw)
{
    char buf[32];
    return rw->rec->payload && store_dlq_has_payload(s->e->store, s->t->name, s->resource,
                                                     dlq_record_id(rw, buf), rw->rec->payload) == 1;
}

/*
 * The first look at one record, before the page's lookup: a malformed
 * record fails (or is known already), a record seen in this scan at this
 * version or newer is skipped; the others stay RW_PENDING for the skip rule.
 */
static void route_record(struct scan *s, struct rec_work *rw)
{
    struct vomo_record *rec = rw->rec;
    if (rec->error) {
        char key[HASH_HEX_LEN + 16];
        sign_sha256_hex(rec->payload ? rec->payload : "", rec->payload ? strlen(rec->payload) : 0,
                        rw->hash);
        snprintf(key, sizeof(key), "malformed:%s", rw->hash);
        idset_put(&s->seen, key, "");
        if (malformed_known(s, rw)) {
            rw->state = RW_SKIP;
            return;
        }
        rw->state = RW_FAIL;
        rw->cls = EC_BAD_DATA;
        snprintf(rw->msg, sizeof(rw->msg), "malformed record: %s", rec->error);
        return;
    }
    char prev[TS_LEN];
    if (idset_get(&s->seen, rec->id, prev) && strcmp(prev, rec->updated_at) >= 0) {
        rw->state = RW_SKIP; /* seen already in this scan */
        return;
    }
    idset_put(&s->seen, rec->id, rec->updated_at);
    sign_sha256_hex(rec->payload, strlen(rec->payload), rw->hash);
    rw->state = RW_PENDING;
    rw->look =
        (struct record_lookup){.id = rec->id, .updated_at = rec->updated_at, .hash = rw->hash};
}

/* After the lookup: skip the record, or hand it to the destination. */
static void deliver_record(struct scan *s, struct rec_work *rw)
{
    struct vomo_record *rec = rw->rec;
    if (should_skip(rw)) {
        rw->state = RW_SKIP;
        return;
    }
    rw->pg->outstanding++;
    rw->claim = (struct claim){.granted = on_claim_granted, .owner = rw->pg};
    if (claim_take(&s->t->dest->claims, &rw->claim, s->resource, rec->id))
        deliver(s, rw);
    /* else another delivery of this record is in flight (the DLQ
     * processor's): on_claim_granted decides once it has ended */
}

/*
 * The page's skip-rule lookups in one store call (one read transaction),
 * gathered in a batch on the stack; a failed lookup cancels the records
 * that needed it and fails the scan.
 */
static int lookup_pending(struct scan *s, struct page *pg)
{
    struct record_lookup batch[STORE_LOOKUP_BATCH];
    size_t i = 0;
    int rc = 0;
    while (i < pg->vp.count && rc == 0) {
        size_t n = 0, first = i;
        for (; i < pg->vp.count && n < ARRAY_SIZE(batch); i++)
            if (pg->work[i].state == RW_PENDING)
                batch[n++] = pg->work[i].look;
        rc = store_lookup_page(s->e->store, s->t->name, s->resource, batch, n);
        for (size_t j = first, k = 0; rc == 0 && j < i; j++)
            if (pg->work[j].state == RW_PENDING)
                pg->work[j].look = batch[k++];
    }
    if (rc < 0)
        scan_fail(s, "state database read failed", store_errmsg(s->e->store));
    return rc;
}

static void process_records(struct page *pg)
{
    struct scan *s = pg->s;
    pg->work = xcalloc(pg->vp.count ? pg->vp.count : 1, sizeof(*pg->work));
    pg->outstanding = 1; /* held until every record is routed */
    for (size_t i = 0; i < pg->vp.count; i++) {
        struct rec_work *rw = &pg->work[i];
        rw->pg = pg;
        rw->rec = &pg->vp.records[i];
        if (s->failed || s->aborted) {
            rw->state = RW_CANCEL;
            continue;
        }
        route_record(s, rw);
    }
    bool looked = lookup_pending(s, pg) == 0;
    for (size_t i = 0; i < pg->vp.count; i++) {
        struct rec_work *rw = &pg->work[i];
        if (rw->state != RW_PENDING)
            continue;
        if (!looked || s->failed || s->aborted)
            rw->state = RW_CANCEL;
        else
            deliver_record(s, rw);
    }
    release(pg);
}

/* Dead-letters (or, in hold mode, holds) one failed record. */
int scan_write_failure(struct scan *s, struct rec_work *rw, const char *now)
{
    struct engine *e = s->e;
    const struct vomo_record *rec = rw->rec;
    s->dlq_ask = s->dlq_none = false; /* it is about to hold one */
    bool terminal = rw->review || !dlqsched_retryable(rw->cls);
    bool versioned = rec->updated_at[0] != '\0';
    struct log_fields f = scan_log_fields(s);
    f.record_id = rec->id[0] ? rec->id : NULL;
    f.error_class = err_class_name(rw->cls);
    f.http_status = (int)rw->status;
    if (s->t->mode == CKPT_HOLD && !terminal && versioned) {
        int attempts = 0;
        int rc = store_hold_fail(e->store, s->t->name, s->resource, rec->id, rec->updated_at,
                                 err_class_name(rw->cls), (int)rw->status, rw->msg, now, &attempts);
        if (rc < 0)
            return rc;
        if (attempts < e->cfg->dlq_max_attempts) {
            f.attempt = attempts;
            log_emit(LOG_WARN, &f, "record failed (%s); held: the next scan retries it", rw->msg);
            return 0;
        }
        rc = store_hold_clear(e->store, s->t->name, s->resource, rec->id);
        if (rc < 0)
            return rc;
        terminal = true;
        snprintf(rw->msg + strlen(rw->msg), sizeof(rw->msg) - strlen(rw->msg),
                 " (failed in %d scans)", attempts);
    }
    char next[TS_LEN] = "";
    if (!terminal) {
        struct dlq_decision d =
            dlqsched_after_failure(&e->dlq_policy, rw->cls, 1, clock_wall_ms(), rand_u64());
        terminal = d.escalate;
        ts_format(d.next_attempt_at, next);
    }
    char id_buf[32];
    struct dlq_new n = {.tenant = s->t->name,
                        .resource = s->resource,
                        .record_id = dlq_record_id(rw, id_buf),
                        .record_updated_at = versioned ? rec->updated_at : NULL,
                        .status = terminal ? "manual_review" : "pending",
                        .error_class = err_class_name(rw->cls),
                        .http_status = (int)rw->status,
                        .attempts = 1,
                        .next_attempt_at = terminal ? NULL : next,
                        .last_error = rw->msg,
                        .payload = rec->payload,
                        .now = now};
    log_emit(terminal ? LOG_ERROR : LOG_WARN, &f, "record dead-lettered as %s: %s", n.status,
             rw->msg);
    return store_dlq_add(e->store, &n, NULL);
}

int scan_write_applied(struct scan *s, struct rec_work *rw, const char *now)
{
    struct store *st = s->e->store;
    const struct vomo_record *rec = rw->rec;
    int rc = store_record_put(st, s->t->name, s->resource, rec->id, rec->updated_at, rec->payload,
                              rw->hash, now);
    /* Nearly always the DLQ holds nothing of this resource: asked once a
     * group commit, not once a record (flush_commits). */
    if (rc == 0 && s->dlq_ask) {
        int any = 1;
        rc = store_dlq_any(st, s->t->name, s->resource, &any);
        s->dlq_ask = false;
        s->dlq_none = rc == 0 && !any;
    }
    if (rc == 0 && !s->dlq_none)
        rc = store_dlq_supersede(st, s->t->name, s->resource, rec->id, rec->updated_at, now);
    if (rc == 0 && s->t->mode == CKPT_HOLD) {
        rc = store_hold_clear(st, s->t->name, s->resource, rec->id);
        if (rc == -ENOENT)
            rc = 0;
    }
    return rc;
}

static int write_page(struct scan *s, struct page *pg, const char *now)
{
    int rc = 0;
    for (size_t i = 0; i < pg->vp.count && rc == 0; i++) {
        struct rec_work *rw = &pg->work[i];
        if (rw->state == RW_APPLY)
            rc = scan_write_applied(s, rw, now);
        else if (rw->state == RW_FAIL)
            rc = scan_write_failure(s, rw, now);
    }
    return rc;
}

/* Whether committing the page writes anything (write_page). */
static bool page_writes(const struct page *pg)
{
    for (size_t i = 0; i < pg->vp.count; i++)
        if (pg->work[i].state == RW_APPLY || pg->work[i].state == RW_FAIL)
            return true;
    return false;
}

static void count_page(struct scan *s, struct page *pg)
{
    for (size_t i = 0; i < pg->vp.count; i++) {
        struct rec_work *rw = &pg->work[i];
        if (rw->state == RW_APPLY)
            s->n_applied++;
        else if (rw->state == RW_SKIP)
            s->n_skipped++;
        else if (rw->state == RW_FAIL)
            s->n_failed++;
        if (rw->rec->updated_at[0] && strcmp(rw->rec->updated_at, s->max_processed) > 0)
            snprintf(s->max_processed, TS_LEN, "%s", rw->rec->updated_at);
    }
}

/*
 * Pages whose records are all decided wait in the engine's queue, then
 * commit together in one transaction (group commit): with synchronous=FULL
 * each transaction costs an fsync, and the pages decided while the last one
 * ran need only one.  The queue is flushed a while after its first page
 * (commit_delay), at once when it holds SCAN_COMMIT_PAGES, and at once when
 * a page's scan has nothing more in flight (its end waits for no timer).  A
 * page is still atomic (it commits whole or not at all), and the checkpoint,
 * written only after a pass's last page ended, never commits before its
 * pages.
 */
static void flush_commits(uv_timer_t *timer)
{
    struct engine *e = container_of(timer, struct engine, commit_timer);
    struct page *list = e->commit_queue;
    e->commit_queue = NULL;
    char now[TS_LEN];
    scan_now(now);
    int64_t t0 = clock_mono_ms();
    /* Pages whose records were all skipped write nothing: no transaction
     * (a reconciliation of an unchanged mirror is all such pages). */
    bool writes = false;
    for (struct page *pg = list; pg && !writes; pg = pg->commit_next)
        writes = page_writes(pg);
    int rc = writes ? store_begin(e->store) : 0;
    /* Within this transaction nothing but these pages writes the DLQ, so
     * whether it holds a row of a resource is asked once (and a failure
     * written here makes it "yes" again). */
    for (struct page *pg = list; pg; pg = pg->commit_next) {
        pg->s->dlq_ask = true;
        pg->s->dlq_none = false;
    }
    for (struct page *pg = list; pg && rc == 0; pg = pg->commit_next)
        rc = write_page(pg->s, pg, now);
    for (struct page *pg = list; pg; pg = pg->commit_next)
        pg->s->dlq_ask = pg->s->dlq_none = false;
    if (rc == 0 && writes)
        rc = store_commit(e->store);
    if (rc < 0)
        store_rollback(e->store);
    e->commit_ms = clock_mono_ms() - t0;
    while (list) {
        struct page *pg = list;
        struct scan *s = pg->s;
        list = pg->commit_next;
        if (rc < 0) {
            struct log_fields f = scan_log_fields(s);
            log_emit(LOG_ERROR, &f, "page %d not saved (%s): the checkpoint stays where it was",
                     pg->number, store_errmsg(e->store));
            scan_fail(s, "state database write failed", store_errmsg(e->store));
        } else {
            count_page(s, pg);
        }
        page_end(pg); /* may end (and free) the scan: pg and s are not used after */
    }
}

static uint64_t commit_delay(const struct engine *e)
{
    int64_t ms = 5 * e->commit_ms;
    return (uint64_t)(ms < SCAN_COMMIT_MIN_MS   ? SCAN_COMMIT_MIN_MS
                      : ms > SCAN_COMMIT_MAX_MS ? SCAN_COMMIT_MAX_MS
                                                : ms);
}

/* A page whose records are all decided: queue it for the next group commit.
 * If anything was cancelled the page commits nothing: its records are still
 * ahead of the checkpoint. */
static void commit_page(struct page *pg)
{
    struct scan *s = pg->s;
    struct engine *e = s->e;
    for (size_t i = 0; i < pg->vp.count; i++)
        if (pg->work[i].state == RW_CANCEL) {
            if (!s->failed)
                s->aborted = true;
            page_end(pg);
            return;
        }
    struct page **tail = (struct page **)&e->commit_queue;
    int queued = 0;
    for (; *tail; queued++)
        tail = &(*tail)->commit_next;
    pg->commit_next = NULL;
    *tail = pg;
    if (queued + 1 >= SCAN_COMMIT_PAGES || s->fetching == 0 || e->stopping)
        uv_timer_start(&e->commit_timer, flush_commits, 0, 0);
    else if (!uv_is_active((uv_handle_t *)&e->commit_timer))
        uv_timer_start(&e->commit_timer, flush_commits, commit_delay(e), 0);
}

struct scan *scan_start(struct slot *slot, bool full, scan_done_fn done)
{
    struct scan *s = xcalloc(1, sizeof(*s));
    s->slot = slot;
    s->t = slot->tenant;
    s->e = s->t->eng;
    s->resource = resource_name(slot->res);
    s->done = done;
    s->pass = 1;
    s->max_total = -1;
    s->last_page = 1;
    s->next_page = 1;
    s->started_mono = clock_mono_ms();
    scan_now(s->started_at);
    idset_init(&s->seen);
    trace_id_new(s->trace_id);
    struct checkpoint cp;
    if (store_checkpoint_get(s->e->store, s->t->name, s->resource, &cp) < 0) {
        snprintf(cp.updated_after, TS_LEN, "%s", TS_EPOCH);
        cp.resets = -1; /* unknown: this scan will not move the checkpoint */
    }
    snprintf(s->old_checkpoint, TS_LEN, "%s", cp.updated_after);
    s->old_resets = cp.resets;
    s->full = full || strcmp(cp.updated_after, TS_EPOCH) == 0;
    snprintf(s->updated_after, TS_LEN, "%s", s->full ? "" : cp.updated_after);
    /* Without a Date header, the local clock at the start stands in. */
    s->server_start_ms = clock_wall_ms();
    s->started_mono = clock_mono_ms();
    struct log_fields f = scan_log_fields(s);
    log_emit(LOG_DEBUG, &f, "%s scan from %s", s->full ? "full" : "incremental",
             s->full ? "the beginning" : s->updated_after);
    scan_fill_window(s);
    return s;
}

struct slot *scan_slot(const struct scan *s)
{
    return s->slot;
}

void scan_free(struct scan *s)
{
    free(s->answer.body);
    idset_free(&s->seen);
    free(s);
}

void scan_progress(const struct scan *s, int *pages_done, int *last_page, int64_t *records,
                   int64_t *started_mono_ms)
{
    *pages_done = s->pages_done;
    *last_page = s->last_page;
    *records = (int64_t)s->seen.count;
    *started_mono_ms = s->started_mono;
}
