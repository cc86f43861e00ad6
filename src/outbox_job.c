/*
 * outbox_job.c - one write to VOMO, from its request to its recorded
 * outcome (see outboxproc.h for the whole picture).
 *
 * Why an unknown create is safe to settle by a search, and the window that
 * is left.  A create whose outcome is unknown (the response was lost, a
 * timeout after sending, a 502/504, a crash while in_flight) may or may not
 * exist in VOMO.  It is never sent again before VOMO is asked: groups or
 * projects whose name contains the intent's name, created after the first
 * send minus OUTBOX_SEARCH_MARGIN_MS (clock skew, whole-second created_at),
 * every page.  A record whose fields all equal the intent's (name and every
 * other field given) and that no other write already owns (remote_id) is
 * adopted: the row is done with its id and nothing is sent.  Only when no
 * such record exists is the create sent again.  The search waits at least
 * vomo.request_timeout after the unknown outcome, so a request VOMO was
 * still working on when we gave up has had as long again to land.
 * What is left: (1) a request that VOMO applies later than that (a stalled
 * queue behind its load balancer) can still land after the search found
 * nothing, and the resend then makes a second record; (2) a record someone
 * else created with exactly the same fields in the window is adopted as
 * ours.  Both are narrowed, not closed, by the settle time and by comparing
 * every field; the row keeps maybe_applied = 1 and its history, and a write
 * that reaches manual review while unknown says so, so a person can check
 * VOMO.  Safe ops (upsert by email, PUT, DELETE) are simply sent again.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "dlqsched.h"
#include "engine.h"
#include "log.h"
#include "outbox_int.h"
#include "sign.h"
#include "store.h"
#include "tenant.h"

#define MSG_LEN 1024

static struct log_fields job_fields(const struct ob_job *j)
{
    return (struct log_fields){.tenant = j->row.tenant,
                               .resource = j->row.resource,
                               .record_id = j->row.target_id,
                               .trace_id = j->trace_id,
                               .delay_ms = LOG_NO_DELAY};
}

/* ---- the database side of each outcome ---- */

/* The record VOMO returned goes to the mirror at once (read-your-writes);
 * the next scan then skips it by the skip rule.  Webhook tenants get it
 * from the next scan, which delivers it. */
static int apply_to_mirror(struct ob_job *j, const char *now)
{
    struct tenant *t = j->t;
    enum resource res;
    if (t->dest_kind != DEST_SQLITE || resource_parse(j->row.resource, &res) < 0 ||
        !(t->resources & RES_BIT(res)))
        return 0;
    struct store *st = j->p->e->store;
    if (strcmp(j->op->method, "DELETE") == 0) {
        int rc = store_record_mark_deleted(st, t->name, j->row.resource, j->row.target_id, now);
        return rc == -ENOENT ? 0 : rc;
    }
    if (!j->have_rec || j->rec.error)
        return 0;
    char hash[SHA256_HEX_LEN];
    sign_sha256_hex(j->rec.payload, strlen(j->rec.payload), hash);
    int rc = store_record_put(st, t->name, j->row.resource, j->rec.id, j->rec.updated_at,
                              j->rec.payload, hash, now);
    if (rc == 0)
        rc = store_dlq_supersede(st, t->name, j->row.resource, j->rec.id, j->rec.updated_at, now);
    return rc;
}

static void log_db_error(struct ob_job *j, const char *what)
{
    struct log_fields f = job_fields(j);
    log_emit(LOG_ERROR, &f, "outbox %lld: could not record %s: %s", (long long)j->row.id, what,
             store_errmsg(j->p->e->store));
}

static void record_done(struct ob_job *j, const char *remote_id, const char *resolution,
                        long status)
{
    struct store *st = j->p->e->store;
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    int rc = store_begin(st);
    if (rc == 0)
        rc = store_outbox_done(st, j->row.id, remote_id, resolution, (int)status, now);
    if (rc == 0)
        rc = apply_to_mirror(j, now);
    if (rc == 0)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        log_db_error(j, "a done write (it stays in flight and is settled after a restart)");
        return;
    }
    struct log_fields f = job_fields(j);
    log_emit(LOG_INFO, &f, "outbox %lld %s: %s %s%s%s", (long long)j->row.id, resolution,
             j->row.resource, j->row.op, remote_id ? " id " : "", remote_id ? remote_id : "");
}

static void record_failed(struct ob_job *j, const struct outbox_failure *f)
{
    if (store_outbox_failed(j->p->e->store, j->row.id, f) < 0 && strcmp(f->action, "waiting") != 0)
        log_db_error(j, "a failed attempt");
}

/* The state a write goes back to when nothing of this attempt landed. */
static const char *resting_state(const struct ob_job *j)
{
    return j->row.maybe_applied || strcmp(j->row.state, "unknown") == 0 ? "unknown" : "pending";
}

/* Not the write's fault (401, shutting down before it left): back as it
 * was, the attempt not counted, due again at once. */
static void put_back(struct ob_job *j, const char *cls, long status, const char *msg)
{
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    struct outbox_failure f = {.state = resting_state(j),
                               .attempts = j->row.attempts,
                               .next_attempt_at = now,
                               .error_class = cls,
                               .http_status = (int)status,
                               .message = msg,
                               .action = "waiting",
                               .now = now};
    record_failed(j, &f);
}

/*
 * A failed attempt: back off on the DLQ schedule, or manual review after
 * dlq.max_attempts (at once for what retrying cannot fix).  unknown: the
 * attempt may have been applied; the row stays unknown and waits at least
 * request_timeout before it is searched for or sent again.
 */
static void schedule(struct ob_job *j, enum err_class cls, int attempts, bool unknown, long status,
                     const char *msg)
{
    struct outboxproc *p = j->p;
    int64_t now_ms = clock_wall_ms();
    char now[TS_LEN], next[TS_LEN], text[MSG_LEN + 128];
    ts_format(now_ms, now);
    struct dlq_decision d = dlqsched_after_failure(&p->e->dlq_policy, unknown ? EC_TRANSIENT : cls,
                                                   attempts, now_ms, rand_u64());
    int64_t settle = now_ms + p->e->cfg->request_timeout_ms;
    if (unknown && d.next_attempt_at < settle)
        d.next_attempt_at = settle;
    ts_format(d.next_attempt_at, next);
    bool maybe = unknown || j->row.maybe_applied;
    snprintf(text, sizeof(text), "%s%s", msg,
             d.escalate && maybe ? " (the outcome of an earlier request is unknown: check VOMO "
                                   "for this write before retrying it)"
                                 : "");
    struct outbox_failure f = {.state = d.escalate ? "manual_review"
                                        : maybe    ? "unknown"
                                                   : "pending",
                               .attempts = attempts,
                               .next_attempt_at = d.escalate ? NULL : next,
                               .error_class = err_class_name(cls),
                               .http_status = (int)status,
                               .message = text,
                               .maybe_applied = unknown,
                               .action = d.escalate ? "escalated"
                                         : unknown  ? "unknown"
                                                    : "failed",
                               .now = now};
    struct log_fields lf = job_fields(j);
    lf.error_class = f.error_class;
    lf.http_status = (int)status;
    lf.attempt = attempts;
    if (d.escalate) {
        p->stats.escalated++;
        log_emit(LOG_ERROR, &lf, "outbox %lld needs a person (manual_review): %s",
                 (long long)j->row.id, text);
    } else {
        unknown ? p->stats.unknown++ : p->stats.failed++;
        lf.delay_ms = d.next_attempt_at - now_ms;
        log_emit(LOG_WARN, &lf, "outbox %lld %s: %s; next attempt at %s", (long long)j->row.id,
                 unknown ? "outcome unknown" : "failed", msg, next);
    }
    record_failed(j, &f);
}

static void review(struct ob_job *j, enum err_class cls, int attempts, long status, const char *msg)
{
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    struct outbox_failure f = {.state = "manual_review",
                               .attempts = attempts,
                               .error_class = err_class_name(cls),
                               .http_status = (int)status,
                               .message = msg,
                               .action = "escalated",
                               .now = now};
    struct log_fields lf = job_fields(j);
    lf.error_class = f.error_class;
    lf.http_status = (int)status;
    j->p->stats.escalated++;
    log_emit(LOG_ERROR, &lf, "outbox %lld needs a person (manual_review): %s", (long long)j->row.id,
             msg);
    record_failed(j, &f);
}

/* ---- requests ---- */

/* A Laravel 422 body as "field: message; ..." so the review shows why. */
static void field_errors(const char *body, char *out, size_t len)
{
    cJSON *root = cJSON_Parse(body ? body : "");
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
    size_t n = (size_t)snprintf(out, len, "VOMO rejected the write (422):");
    const cJSON *field;
    const cJSON *fields = cJSON_IsObject(errs) ? errs : NULL;
    cJSON_ArrayForEach(field, fields)
    {
        const cJSON *m;
        const cJSON *msgs = cJSON_IsArray(field) ? field : NULL;
        cJSON_ArrayForEach(m, msgs)
        {
            if (cJSON_IsString(m) && n < len)
                n += (size_t)snprintf(out + n, len - n, " %s: %s;", field->string, m->valuestring);
        }
    }
    if (!cJSON_IsObject(errs) && n < len)
        snprintf(out + n, len - n, " %.600s", body ? body : "");
    cJSON_Delete(root);
}

static void describe(const struct call_result *r, char *out, size_t len)
{
    if (r->cls == EC_VALIDATION && r->resp)
        field_errors(r->resp->body, out, len);
    else
        snprintf(out, len, "%s", r->message);
}

static void setup_call(struct ob_job *j, struct call *c, const char *method, const char *url,
                       const char *body, enum op_context ctx)
{
    struct engine *e = j->p->e;
    struct tenant *t = j->t;
    const char *headers[] = {t->auth_header, "Accept: application/json",
                             "Content-Type: application/json", NULL};
    call_init(c, method, url, body, body ? strlen(body) : 0, headers);
    c->lane = &t->vomo_lane;
    c->http = &e->http;
    c->ctx = ctx;
    c->backoff = &e->retry_policy;
    c->budget = &t->budget;
    c->breaker = &e->vomo_breaker;
    c->gate = &t->gate;
    c->timeout_ms = e->cfg->request_timeout_ms;
    c->connect_timeout_ms = e->cfg->connect_timeout_ms;
    c->max_response = (size_t)e->cfg->max_response_size;
    c->tenant = t->name;
    c->resource = j->row.resource;
    c->record_id = j->row.target_id;
    c->trace_id = j->trace_id;
    c->before_send = tenant_authorize;
    c->arg = t;
    j->p->stats.requests++;
}

/* A 2xx of a write must carry the record (a delete's need not). */
static int check_record(struct call *c, const struct http_response *resp)
{
    struct ob_job *j = container_of(c, struct ob_job, call);
    const char *err = NULL;
    if (j->have_rec)
        vomo_record_free(&j->rec);
    j->have_rec = true;
    if (vomo_parse_record(resp->body, resp->body_len, &j->rec, &err) < 0 || j->rec.error)
        return -EINVAL;
    return 0;
}

static void on_reread(struct call *c, const struct call_result *r)
{
    struct ob_job *j = container_of(c, struct ob_job, reread);
    bool ok = !r->cancelled && r->cls == EC_NONE;
    char why[256];
    snprintf(why, sizeof(why), "%s", r->cancelled ? "cancelled: shutting down" : r->message);
    j->reread_cancelled = r->cancelled;
    call_release(c);
    if (!ok) {
        call_abandon(&j->call, why);
        return;
    }
    /* PUT is a full replacement: re-applied over what VOMO holds now, the
     * intent's body is the same body. */
    char *body = xstrndup(j->call.body ? j->call.body : "", j->call.body_len);
    call_retry_with_body(&j->call, body, strlen(body));
    free(body);
}

/* 409: re-read the record (for ops that name one), then send once more. */
static void on_conflict(struct call *c)
{
    struct ob_job *j = container_of(c, struct ob_job, call);
    if (!j->op->needs_id) {
        char *body = xstrndup(c->body ? c->body : "", c->body_len);
        call_retry_with_body(c, body, strlen(body));
        free(body);
        return;
    }
    char *url = vomo_get_url(j->p->e->cfg->base_url, j->row.resource, j->row.target_id);
    setup_call(j, &j->reread, "GET", url, NULL, OP_VOMO_GET);
    free(url);
    j->reread.done = on_reread;
    call_start(&j->reread);
}

static void on_sent(struct call *c, const struct call_result *r)
{
    struct ob_job *j = container_of(c, struct ob_job, call);
    char msg[MSG_LEN];
    describe(r, msg, sizeof(msg));
    enum err_class cls = r->cls;
    long status = r->status;
    bool maybe = r->maybe_applied, cancelled = r->cancelled || j->reread_cancelled;
    enum outbox_verdict v = outbox_verdict_for(cls, r->treatment, maybe);
    uint64_t tag = c->sent_tag;
    call_release(c);
    int attempts = j->row.attempts + 1; /* counted when it went in flight */
    if (cancelled && maybe)
        schedule(j, EC_TRANSIENT, attempts, true, status, "shutting down after the request left");
    else if (cancelled)
        put_back(j, NULL, 0, "not sent: shutting down");
    else if (v == OBV_DONE) {
        bool gone = strcmp(j->op->method, "DELETE") == 0;
        j->p->stats.done++;
        record_done(j,
                    gone          ? j->row.target_id
                    : j->have_rec ? j->rec.id
                                  : NULL,
                    gone && status == 404 ? "gone" : "sent", status);
    } else if (v == OBV_WAIT) {
        tenant_auth_failed(j->t, tag, j->trace_id, msg);
        put_back(j, err_class_name(cls), status, msg);
    } else if (v == OBV_REVIEW) {
        review(j, cls, attempts, status, msg);
    } else {
        schedule(j, cls, attempts, v == OBV_UNKNOWN, status, msg);
    }
    outbox_job_end(j);
}

void outbox_job_send(struct ob_job *j)
{
    struct engine *e = j->p->e;
    char *url = outbox_url(e->cfg->base_url, j->op, j->row.target_id);
    const char *body = j->row.payload && *j->row.payload ? j->row.payload : NULL;
    struct call *c = &j->call;
    setup_call(j, c, j->op->method, url, body, j->op->ctx);
    free(url);
    if (strcmp(j->op->method, "DELETE") != 0)
        c->check = check_record;
    c->no_blind_resend = !j->op->safe;
    c->reread = on_conflict;
    c->done = on_sent;
    j->p->stats.sent++;
    call_start(c);
}

/* ---- the search of an unknown create ---- */

static int check_page(struct call *c, const struct http_response *resp)
{
    struct ob_job *j = container_of(c, struct ob_job, call);
    if (j->have_page)
        vomo_page_free(&j->found);
    j->have_page = false;
    const char *err = NULL;
    if (vomo_parse_page(resp->body, resp->body_len, &j->found, &err) < 0)
        return -EINVAL;
    j->have_page = true;
    return 0;
}

static void search_page(struct ob_job *j);

/* The first record of the page that is the intent and no other write's. */
static ssize_t find_match(struct ob_job *j, int *matches)
{
    ssize_t pick = -1;
    *matches = 0;
    for (size_t i = 0; j->have_page && i < j->found.count; i++) {
        const struct vomo_record *r = &j->found.records[i];
        if (r->error || !outbox_matches(j->row.payload, r->payload))
            continue;
        int taken = store_outbox_remote_taken(j->p->e->store, j->row.tenant, j->row.resource, r->id,
                                              j->row.id);
        if (taken != 0)
            continue;
        (*matches)++;
        if (pick < 0)
            pick = (ssize_t)i;
    }
    return pick;
}

static void adopt(struct ob_job *j, size_t i, int matches)
{
    struct log_fields f = job_fields(j);
    if (matches > 1)
        log_emit(LOG_WARN, &f,
                 "outbox %lld: %d records in VOMO match the unknown create; adopting id %s (the "
                 "others may be duplicates to look at)",
                 (long long)j->row.id, matches, j->found.records[i].id);
    j->rec = j->found.records[i];
    memset(&j->found.records[i], 0, sizeof(j->found.records[i]));
    j->have_rec = true;
    j->p->stats.adopted++;
    record_done(j, j->rec.id, "adopted", 200);
}

/* Nothing in VOMO is the intent: the create is sent again. */
static void send_again(struct ob_job *j)
{
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    struct log_fields f = job_fields(j);
    int rc = store_outbox_begin_send(j->p->e->store, j->row.id, "unknown", now);
    if (rc < 0) {
        if (rc != -ESTALE)
            log_db_error(j, "a write in flight");
        outbox_job_end(j);
        return;
    }
    log_emit(LOG_INFO, &f,
             "outbox %lld: VOMO holds no record of the unknown create; sending it "
             "again",
             (long long)j->row.id);
    outbox_job_send(j);
}

static void on_searched(struct call *c, const struct call_result *r)
{
    struct ob_job *j = container_of(c, struct ob_job, call);
    char msg[MSG_LEN];
    snprintf(msg, sizeof(msg), "searching VOMO for the unknown create: %s", r->message);
    enum err_class cls = r->cls;
    long status = r->status;
    bool cancelled = r->cancelled;
    uint64_t tag = c->sent_tag;
    call_release(c);
    int matches = 0;
    ssize_t pick = cls == EC_NONE && !cancelled ? find_match(j, &matches) : -1;
    if (cancelled) {
        outbox_job_end(j);
    } else if (cls == EC_AUTH) {
        tenant_auth_failed(j->t, tag, j->trace_id, msg);
        outbox_job_end(j);
    } else if (cls != EC_NONE) {
        schedule(j, cls, j->row.attempts + 1, true, status, msg);
        outbox_job_end(j);
    } else if (pick >= 0) {
        adopt(j, (size_t)pick, matches);
        outbox_job_end(j);
    } else if (j->found.has_next && j->page < OUTBOX_SEARCH_MAX_PAGES) {
        j->page++;
        search_page(j);
    } else if (j->found.has_next) {
        review(j, EC_UNKNOWN, j->row.attempts + 1, 0,
               "the search for an unknown create found too many candidates to decide: check "
               "VOMO for this write, then retry or cancel it");
        outbox_job_end(j);
    } else {
        send_again(j);
    }
}

static void search_page(struct ob_job *j)
{
    char name[512];
    if (!outbox_payload_string(j->row.payload, j->op->required, name, sizeof(name)))
        name[0] = '\0';
    char *url =
        outbox_search_url(j->p->e->cfg->base_url, j->row.resource, name, j->search_after, j->page);
    setup_call(j, &j->call, "GET", url, NULL, OP_VOMO_LIST);
    free(url);
    j->call.check = check_page;
    j->call.done = on_searched;
    call_start(&j->call);
}

void outbox_job_search(struct ob_job *j)
{
    int64_t first = 0;
    const char *since = j->row.first_sent_at[0] ? j->row.first_sent_at : j->row.created_at;
    if (ts_parse(since, &first) < 0)
        first = 0;
    ts_format(first > OUTBOX_SEARCH_MARGIN_MS ? first - OUTBOX_SEARCH_MARGIN_MS : 0,
              j->search_after);
    j->searching = true;
    j->page = 1;
    j->p->stats.searches++;
    struct log_fields f = job_fields(j);
    log_emit(LOG_INFO, &f,
             "outbox %lld: the outcome of %s %s is unknown; looking for it in VOMO "
             "(created after %s) before sending it again",
             (long long)j->row.id, j->row.resource, j->row.op, j->search_after);
    search_page(j);
}
