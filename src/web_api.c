/*
 * web_api.c - the read API's routes, GET /api/v1/{tenant}/{resource}[/{id}]
 * (README, "When VOMO is down"): the bearer token, the request parsed by
 * apidoc.h, answers from the mirror (store_api.h) with their freshness,
 * and live reads on deferred replies (httpd_defer): one record is asked
 * from VOMO through the engine's view (apiview.h: the tenant's own lane,
 * rate gate and breaker), a list waits for the incremental scan it
 * hastens.  Live reads are bounded per tenant (API_LIVE_PER_TENANT in
 * flight, 429 with Retry-After beyond), so a flood of API requests can
 * neither make vomo-sync ask VOMO more than its lane allows nor starve
 * the scans, and a client that goes away cancels its read.
 *
 * Every request is counted once when it ends (obs.h): its status and the
 * cache label of its Cache-Status, its time, and for a live read what
 * became of it.  Labels are bounded: a tenant or resource not configured
 * is counted as "other".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apidoc.h"
#include "apiview.h"
#include "log.h"
#include "obs.h"
#include "sign.h"
#include "store_api.h"
#include "timeshare.h"
#include "vomo.h"
#include "web_int.h"

#define API_PREFIX "/api/v1/"
#define API_LIVE_PER_TENANT 2   /* live reads in flight per tenant */
#define API_HASTEN_GAP_MS 1000  /* a list scanned this recently is answered as it is */
#define API_TICK_MS 20          /* how often waiting lists look at their scan */
#define API_DEFER_SLACK_MS 1000 /* the deferral outlives live_timeout by this */

/* Live reads in flight for one tenant. */
struct live_count {
    struct live_count *next;
    char tenant[APIDOC_TENANT_MAX];
    int n;
};

/* One request: what the route parsed, kept by a live read until it ends. */
struct api_req {
    struct api_path path;
    enum resource res;
    struct api_query q;
    char self[APIDOC_TENANT_MAX + 400]; /* the list's absolute URL, for links */
};

struct api_job {
    struct web_api *api;
    struct api_job *next, *prev;
    struct httpd_deferred *d;
    struct api_req r;
    struct api_fetch *fetch; /* one record: VOMO's read in flight */
    bool list;
    uint64_t start_ns;    /* uv_hrtime() when the request arrived */
    int64_t scans_before; /* a list: scans of the slot finished when it started */
    int64_t deadline;     /* a list: monotonic ms */
};

struct web_api {
    struct web *w;
    struct api_view view;
    struct live_count *counts;
    struct api_job *jobs;
    struct timeshare share; /* the loop's time the mirror's answers took */
    int64_t shed;           /* requests refused for the share since start */
    uv_timer_t tick;
    void (*closed)(struct web *w);
};

/* ---- small helpers ---- */

static struct live_count *count_of(struct web_api *api, const char *tenant)
{
    for (struct live_count *c = api->counts; c; c = c->next)
        if (strcmp(c->tenant, tenant) == 0)
            return c;
    struct live_count *c = xcalloc(1, sizeof(*c));
    snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
    c->next = api->counts;
    api->counts = c;
    return c;
}

static void header_i64(struct httpd_reply *rep, const char *name, int64_t v)
{
    char s[24];
    snprintf(s, sizeof(s), "%lld", (long long)v);
    httpd_reply_header(rep, name, s);
}

/* Last-Modified from a stored (normalised) timestamp. */
static void last_modified(struct httpd_reply *rep, const char *ts)
{
    int64_t ms;
    char d[APIDOC_HTTP_DATE_LEN];
    if (ts[0] && ts_parse(ts, &ms) == 0) {
        apidoc_http_date(ms, d);
        httpd_reply_header(rep, "Last-Modified", d);
    }
}

static void fresh_headers(struct httpd_reply *rep, const struct api_fresh *f)
{
    httpd_reply_header(rep, "Cache-Status", f->cache_status);
    if (f->age_s >= 0)
        header_i64(rep, "Age", f->age_s);
}

static void body_failed(struct httpd_reply *rep)
{
    httpd_reply_error(rep, 500, "the answer could not be written");
}

/* A header of the reply ("Name: value"), or NULL. */
static const char *reply_header(const struct httpd_reply *rep, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < HTTPD_MAX_HEADERS && rep->headers[i]; i++)
        if (strncasecmp(rep->headers[i], name, n) == 0 && rep->headers[i][n] == ':')
            return rep->headers[i] + n + 1 + (rep->headers[i][n + 1] == ' ');
    return NULL;
}

/* The metric labels of a request path: the configured tenant and one of
 * the three resources, else OBS_API_OTHER (so a client cannot make new
 * series). */
static void path_labels(const struct config *cfg, const char *path, char tenant[APIDOC_TENANT_MAX],
                        const char **resource)
{
    const char *p =
        strncmp(path, API_PREFIX, strlen(API_PREFIX)) == 0 ? path + strlen(API_PREFIX) : "";
    size_t tn = strcspn(p, "/");
    snprintf(tenant, APIDOC_TENANT_MAX, "%.*s", (int)tn, p);
    if (tn >= APIDOC_TENANT_MAX || !cfg_tenant(cfg, tenant))
        snprintf(tenant, APIDOC_TENANT_MAX, "%s", OBS_API_OTHER);
    *resource = OBS_API_OTHER;
    if (p[tn] == '/') {
        const char *r = p + tn + 1;
        char name[16];
        enum resource res;
        size_t rn = strcspn(r, "/");
        snprintf(name, sizeof(name), "%.*s", (int)(rn < sizeof(name) ? rn : 0), r);
        if (resource_parse(name, &res) == 0)
            *resource = resource_name(res);
    }
}

static void count_answer(const char *tenant, const char *resource, const struct httpd_reply *rep,
                         uint64_t start_ns)
{
    char code[12];
    snprintf(code, sizeof(code), "%d", rep->status);
    obs_api_request(tenant, resource, code, apidoc_cache_label(reply_header(rep, "Cache-Status")),
                    (double)(uv_hrtime() - start_ns) / 1e9);
}

static void db_failed(struct web_api *api, struct httpd_reply *rep)
{
    char msg[600];
    snprintf(msg, sizeof(msg), "the state database could not be read: %s",
             store_errmsg(api->view.store(api->view.ctx)));
    httpd_reply_error(rep, 500, msg);
}

/*
 * How VOMO looks for this answer: what the engine knows from memory (a
 * refused token, a breaker not closed), else a last scan that failed or a
 * live read that just failed make it unreachable.
 */
static enum api_upstream upstream_of(const struct api_slot_state *ss, const char *last_status,
                                     enum api_source src)
{
    if (ss->upstream != API_UP_OK)
        return ss->upstream;
    if (src == API_SRC_FALLBACK || strcmp(last_status, "failed") == 0)
        return API_UP_UNREACHABLE;
    return API_UP_OK;
}

/* ---- answers from the mirror ---- */

static void answer_record(struct web_api *api, const struct api_req *r, const struct api_fresh *f,
                          enum api_upstream up, struct httpd_reply *rep)
{
    struct store *st = api->view.store(api->view.ctx);
    struct api_record rec;
    int rc = store_api_record(st, r->path.tenant, resource_name(r->res), r->path.id, &rec);
    if (rc == -ENOENT) {
        rep->status = 404;
        if (apidoc_error(&rep->body, "no such record in the mirror", 0, f, up) < 0)
            body_failed(rep);
        return;
    }
    if (rc < 0) {
        db_failed(api, rep);
        return;
    }
    last_modified(rep, rec.updated_at);
    rep->status = rec.deleted_at[0] ? 410 : 200;
    rc = rec.deleted_at[0] ? apidoc_gone(&rep->body, r->path.id, rec.deleted_at, f, up)
                           : apidoc_record(&rep->body, rec.payload, f, up);
    if (rc < 0)
        body_failed(rep);
    store_api_record_free(&rec);
}

struct page_fill {
    struct buf *b;
    size_t n;
    int rc;
    char newest[TS_LEN];
};

static void on_page_row(void *arg, const char *id, const char *updated_at, const char *payload)
{
    (void)id;
    struct page_fill *p = arg;
    if (p->rc == 0)
        p->rc = apidoc_page_item(p->b, payload, p->n);
    p->n++;
    if (strcmp(updated_at, p->newest) > 0)
        snprintf(p->newest, sizeof(p->newest), "%s", updated_at);
}

static void answer_page(struct web_api *api, const struct api_req *r, const struct api_fresh *f,
                        enum api_upstream up, const char *live, struct httpd_reply *rep)
{
    struct store *st = api->view.store(api->view.ctx);
    struct page_fill p = {.b = &rep->body};
    int64_t total = 0;
    p.rc = apidoc_page_open(&rep->body);
    int rc =
        store_api_page(st, r->path.tenant, resource_name(r->res), r->q.updated_after,
                       (r->q.page - 1) * APIDOC_PER_PAGE, APIDOC_PER_PAGE, on_page_row, &p, &total);
    if (rc < 0) {
        db_failed(api, rep);
        return;
    }
    struct api_page pg = {.path = r->self,
                          .updated_after = r->q.updated_after,
                          .page = r->q.page,
                          .total = total,
                          .count = p.n,
                          .live = live};
    if (p.rc < 0 || apidoc_page_close(&rep->body, &pg, f, up) < 0) {
        body_failed(rep);
        return;
    }
    last_modified(rep, p.newest);
}

/*
 * Answers from the mirror: its freshness from the resource's last complete
 * scan, refused past max_stale (503, Retry-After), or a remembered refusal
 * by VOMO passed on (src API_SRC_REFUSED, with fwd_status).  `live` names
 * how a live list read went (meta.live), NULL otherwise.
 */
static void answer_mirror_now(struct web_api *api, const struct api_req *r, enum api_source src,
                              int fwd_status, const char *live, struct httpd_reply *rep)
{
    const struct config *cfg = api->view.config(api->view.ctx);
    struct store *st = api->view.store(api->view.ctx);
    const char *res = resource_name(r->res);
    struct api_slot_state ss;
    if (!api->view.slot(api->view.ctx, r->path.tenant, r->res, &ss)) {
        httpd_reply_error(rep, 404, "no such tenant or resource");
        return;
    }
    char last[TS_LEN], status[16];
    int64_t last_ms = -1;
    int rc = store_api_last_complete(st, r->path.tenant, res, last);
    if (rc == 0 && ts_parse(last, &last_ms) < 0)
        last_ms = -1;
    if ((rc < 0 && rc != -ENOENT) || store_api_last_status(st, r->path.tenant, res, status) < 0) {
        db_failed(api, rep);
        return;
    }
    enum api_upstream up = upstream_of(&ss, status, src);
    struct api_fresh_in in = {.now = clock_wall_ms(),
                              .last_complete = last_ms,
                              .poll_interval_ms = cfg->poll_interval_ms,
                              .max_stale_ms = cfg->http_max_stale_ms};
    struct api_fresh f;
    apidoc_fresh(&in, src, fwd_status, &f);
    fresh_headers(rep, &f);
    if (src == API_SRC_REFUSED || f.refuse) {
        char msg[200];
        if (src == API_SRC_REFUSED)
            snprintf(msg, sizeof(msg),
                     "VOMO refused tenant %s (%d): not asked again until its "
                     "token file changes",
                     r->path.tenant, fwd_status);
        else
            snprintf(msg, sizeof(msg),
                     "no complete scan of %s/%s within [http] max_stale: "
                     "the mirror is too old to serve",
                     r->path.tenant, res);
        rep->status = src == API_SRC_REFUSED ? fwd_status : 503;
        if (f.refuse && src != API_SRC_REFUSED)
            header_i64(rep, "Retry-After", f.retry_after_s);
        if (apidoc_error(&rep->body, msg, src == API_SRC_REFUSED ? fwd_status : 0, &f, up) < 0)
            body_failed(rep);
        return;
    }
    if (r->path.has_id)
        answer_record(api, r, &f, up, rep);
    else
        answer_page(api, r, &f, up, live, rep);
}

/* Every answer from the mirror, plain or a live read's fallback, is
 * charged to the read API's share of the loop. */
static void answer_mirror(struct web_api *api, const struct api_req *r, enum api_source src,
                          int fwd_status, const char *live, struct httpd_reply *rep)
{
    uint64_t t0 = uv_hrtime();
    answer_mirror_now(api, r, src, fwd_status, live, rep);
    timeshare_spend(&api->share, (int64_t)(t0 / 1000000), (int64_t)((uv_hrtime() - t0) / 1000));
}

/* A plain read when the mirror's answers have taken their share of this
 * second of the loop ([http] api_time_per_second): 429 with the seconds to
 * the next window, so that a client asking as fast as it can leaves the
 * loop to the scans, the DLQ and other clients.  Live reads have their
 * own bound (API_LIVE_PER_TENANT). */
static bool over_share(struct web_api *api, const struct config *cfg, struct httpd_reply *rep)
{
    int64_t retry_ms;
    if (timeshare_admit(&api->share, (int64_t)(uv_hrtime() / 1000000), cfg->http_api_time_ms * 1000,
                        &retry_ms))
        return false;
    api->shed++;
    httpd_reply_error(rep, 429,
                      "the read API has used its share of this second ([http] "
                      "api_time_per_second): retry after Retry-After");
    header_i64(rep, "Retry-After", (retry_ms + 999) / 1000);
    return true;
}

/* ---- live reads ---- */

static void job_end(struct api_job *j)
{
    struct web_api *api = j->api;
    if (j->prev)
        j->prev->next = j->next;
    else
        api->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    count_of(api, j->r.path.tenant)->n--;
    if (!api->jobs)
        uv_timer_stop(&api->tick);
    free(j);
}

/* Ends a live read with its answer, counted with its outcome (obs.h). */
static void job_reply(struct api_job *j, struct httpd_reply *rep, const char *outcome)
{
    obs_api_live(j->r.path.tenant, outcome);
    count_answer(j->r.path.tenant, resource_name(j->r.res), rep, j->start_ns);
    httpd_resume(j->d, rep);
    job_end(j);
}

/* VOMO's answer to a live read of one record. */
static void on_fetched(const struct api_fetch_result *res, void *arg)
{
    struct api_job *j = arg;
    struct web_api *api = j->api;
    struct httpd_reply rep = {.status = 200, .content_type = "application/json"};
    buf_init(&rep.body, 0);
    j->fetch = NULL;
    struct vomo_record rec = {0};
    const char *why;
    bool body_ok = !res->cancelled && res->status == 200 &&
                   vomo_parse_record(res->body, res->body_len, &rec, &why) == 0 && !rec.error;
    enum api_live outcome =
        res->cancelled ? API_LIVE_FALLBACK : apidoc_live_outcome(res->status, body_ok);
    if (outcome == API_LIVE_FALLBACK) {
        answer_mirror(api, &j->r, API_SRC_FALLBACK, 0, NULL, &rep);
    } else {
        struct api_fresh_in in = {.now = clock_wall_ms(), .last_complete = -1};
        struct api_fresh f;
        apidoc_fresh(&in, outcome == API_LIVE_FRESH ? API_SRC_LIVE : API_SRC_PASSED,
                     (int)res->status, &f);
        fresh_headers(&rep, &f);
        rep.status = (int)res->status;
        int rc;
        if (outcome == API_LIVE_FRESH) {
            last_modified(&rep, rec.updated_at);
            rc = apidoc_record(&rep.body, rec.payload, &f, API_UP_OK);
        } else {
            char msg[80];
            snprintf(msg, sizeof(msg), "VOMO answered %ld", res->status);
            rc = apidoc_error(&rep.body, msg, (int)res->status, &f,
                              res->status == 404 ? API_UP_OK : API_UP_AUTH_FAILED);
        }
        if (rc < 0)
            body_failed(&rep);
    }
    vomo_record_free(&rec);
    job_reply(j, &rep, outcome == API_LIVE_FALLBACK ? "fallback" : "forwarded");
}

/* The client went, the deadline passed or the server stops: the live
 * read is cancelled (its callback will not run) and the job ends. */
static void on_job_gone(struct httpd_deferred *d, enum httpd_gone why, void *arg)
{
    (void)d;
    struct api_job *j = arg;
    obs_api_live(j->r.path.tenant, "cancelled");
    obs_api_request(j->r.path.tenant, resource_name(j->r.res),
                    why == HTTPD_GONE_TIMEOUT   ? "504"
                    : why == HTTPD_GONE_CLOSING ? "503"
                                                : OBS_API_GONE,
                    "none", (double)(uv_hrtime() - j->start_ns) / 1e9);
    if (j->fetch)
        j->api->view.fetch_cancel(j->api->view.ctx, j->fetch);
    j->fetch = NULL;
    job_end(j);
}

/* A waiting list: done once the slot finished a scan since it started
 * (SCANNED when the resource's last scan completed, else FALLBACK), or at
 * its deadline (PENDING). */
static bool list_settled(struct api_job *j, int64_t now_mono, struct httpd_reply *rep,
                         const char **outcome)
{
    struct web_api *api = j->api;
    struct api_slot_state ss;
    bool known = api->view.slot(api->view.ctx, j->r.path.tenant, j->r.res, &ss);
    if (known && ss.scans_finished <= j->scans_before && now_mono < j->deadline)
        return false;
    if (!known) { /* the tenant closes: a reload removed it, or the daemon stops */
        httpd_reply_error(rep, 503, "the tenant is closing");
        httpd_reply_header(rep, "Retry-After", "1");
        *outcome = "cancelled";
        return true;
    }
    if (ss.scans_finished <= j->scans_before) {
        answer_mirror(api, &j->r, API_SRC_PENDING, 0, "pending", rep);
        *outcome = "fallback";
        return true;
    }
    char status[16] = "";
    if (store_api_last_status(api->view.store(api->view.ctx), j->r.path.tenant,
                              resource_name(j->r.res), status) < 0)
        status[0] = '\0';
    bool complete = strcmp(status, "complete") == 0;
    answer_mirror(api, &j->r, complete ? API_SRC_SCANNED : API_SRC_FALLBACK, 0,
                  complete ? "scanned" : "scan-failed", rep);
    *outcome = complete ? "forwarded" : "fallback";
    return true;
}

static void on_tick(uv_timer_t *t)
{
    struct web_api *api = t->data;
    int64_t now = clock_mono_ms();
    for (struct api_job *j = api->jobs, *next; j; j = next) {
        next = j->next;
        if (!j->list)
            continue;
        struct httpd_reply rep = {.status = 200, .content_type = "application/json"};
        buf_init(&rep.body, 0);
        const char *outcome;
        if (list_settled(j, now, &rep, &outcome))
            job_reply(j, &rep, outcome);
        else
            buf_free(&rep.body);
    }
}

/* Whether the resource's last complete scan ended within API_HASTEN_GAP_MS:
 * then a live list read is answered as it is, and scans are not hastened
 * more than once a gap however many clients ask. */
static bool scanned_recently(struct web_api *api, const struct api_req *r)
{
    char last[TS_LEN];
    int64_t ms;
    if (store_api_last_complete(api->view.store(api->view.ctx), r->path.tenant,
                                resource_name(r->res), last) < 0 ||
        ts_parse(last, &ms) < 0)
        return false;
    int64_t age = clock_wall_ms() - ms;
    return age >= 0 && age < API_HASTEN_GAP_MS;
}

/*
 * Starts a live read on a deferred reply, or answers at once when it need
 * not or cannot wait: a remembered refusal (401/403), an open breaker
 * (the mirror, upstream-down), a list scanned within API_HASTEN_GAP_MS, a
 * tenant at its bound or a server at its bound of waiting replies (429).
 */
static bool start_live(struct web_api *api, const struct httpd_request *req,
                       const struct api_req *r, uint64_t start_ns, struct httpd_reply *rep)
{
    const struct config *cfg = api->view.config(api->view.ctx);
    struct api_slot_state ss;
    (void)api->view.slot(api->view.ctx, r->path.tenant, r->res, &ss);
    if (ss.refused_status) {
        answer_mirror(api, r, API_SRC_REFUSED, ss.refused_status, NULL, rep);
        obs_api_live(r->path.tenant, "refused");
        return false;
    }
    if (ss.upstream == API_UP_BREAKER_OPEN || api->w->phase == WEB_STOPPING) {
        answer_mirror(api, r, API_SRC_FALLBACK, 0, r->path.has_id ? NULL : "upstream-down", rep);
        obs_api_live(r->path.tenant, "fallback");
        return false;
    }
    if (!r->path.has_id && !ss.scanning && scanned_recently(api, r)) {
        answer_mirror(api, r, API_SRC_MIRROR, 0, "recent", rep);
        obs_api_live(r->path.tenant, "recent");
        return false;
    }
    struct live_count *c = count_of(api, r->path.tenant);
    struct api_job *j = xcalloc(1, sizeof(*j));
    if (c->n >= API_LIVE_PER_TENANT ||
        !(j->d =
              httpd_defer(req, cfg->http_live_timeout_ms + API_DEFER_SLACK_MS, on_job_gone, j))) {
        free(j);
        httpd_reply_error(rep, 429,
                          "too many live reads at once: retry, or read the mirror "
                          "without live=1");
        httpd_reply_header(rep, "Retry-After", "1");
        obs_api_live(r->path.tenant, "shed");
        return false;
    }
    j->api = api;
    j->r = *r;
    j->start_ns = start_ns;
    j->list = !r->path.has_id;
    c->n++;
    j->next = api->jobs;
    if (j->next)
        j->next->prev = j;
    api->jobs = j;
    if (j->list) {
        j->scans_before = ss.scans_finished;
        j->deadline = clock_mono_ms() + cfg->http_live_timeout_ms;
        if (!ss.scanning)
            api->view.hasten(api->view.ctx, r->path.tenant, r->res);
        if (!uv_is_active((uv_handle_t *)&api->tick))
            uv_timer_start(&api->tick, on_tick, API_TICK_MS, API_TICK_MS);
        return true;
    }
    j->fetch = api->view.fetch(api->view.ctx, r->path.tenant, r->res, r->path.id,
                               cfg->http_live_timeout_ms, on_fetched, j);
    if (!j->fetch) { /* VOMO cannot be asked now: the mirror, said so */
        struct httpd_reply now = {.status = 200, .content_type = "application/json"};
        buf_init(&now.body, 0);
        answer_mirror(api, r, API_SRC_FALLBACK, 0, NULL, &now);
        job_reply(j, &now, "fallback");
    }
    return true;
}

/* ---- the route ---- */

/* The bearer token, compared in constant time (as hashes, so that not
 * even its length shows); never logged. */
static bool authorized(const struct config *cfg, const struct httpd_request *req)
{
    if (!cfg->http_api_token)
        return true;
    const char *h = httpd_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    char got[SHA256_HEX_LEN], want[SHA256_HEX_LEN];
    sign_sha256_hex(h + 7, strlen(h + 7), got);
    sign_sha256_hex(cfg->http_api_token, strlen(cfg->http_api_token), want);
    return sign_equal(got, want);
}

struct arg_walk {
    struct api_query *q;
    bool list;
    const char *why;
    char key[64];
};

static int on_query_arg(void *arg, const char *key, const char *value)
{
    struct arg_walk *a = arg;
    if (apidoc_query_arg(a->q, a->list, key, value, &a->why) == 0)
        return 0;
    snprintf(a->key, sizeof(a->key), "%s", key);
    return 1;
}

/* The list's absolute URL: the Host the client used, when it looks like
 * one, else the address the endpoint listens on. */
static void self_url(const struct web_api *api, const struct httpd_request *req, struct api_req *r)
{
    const char *host = httpd_header(req, "Host");
    if (!host || !apidoc_host_ok(host))
        host = api->w->address[0] ? api->w->address : "localhost";
    snprintf(r->self, sizeof(r->self), "http://%s" API_PREFIX "%s/%s", host, r->path.tenant,
             r->path.resource);
}

/* Fills r from the request, or answers 400/404 and returns false. */
static bool parse_request(struct web_api *api, const struct httpd_request *req, struct api_req *r,
                          struct httpd_reply *rep)
{
    const char *why;
    int rc = apidoc_parse_path(req->path + strlen(API_PREFIX), &r->path, &why);
    struct api_slot_state ss;
    if (rc == 0 && (resource_parse(r->path.resource, &r->res) < 0 ||
                    !api->view.slot(api->view.ctx, r->path.tenant, r->res, &ss))) {
        rc = -ENOENT;
        why = "no such tenant, or the tenant does not sync that resource";
    }
    if (rc < 0) {
        httpd_reply_error(rep, rc == -ENOENT ? 404 : 400, why);
        return false;
    }
    apidoc_query_init(&r->q);
    struct arg_walk a = {.q = &r->q, .list = !r->path.has_id};
    httpd_args_each(req, on_query_arg, &a);
    if (a.why) {
        char msg[200];
        snprintf(msg, sizeof(msg), "%s: %s", a.key, a.why);
        httpd_reply_error(rep, 400, msg);
        return false;
    }
    self_url(api, req, r);
    return true;
}

/* Answers one request, or defers it (true: its answer is counted when
 * the live read ends). */
static bool serve(struct web_api *api, const struct httpd_request *req, uint64_t start_ns,
                  struct httpd_reply *rep)
{
    const struct config *cfg = api->view.config(api->view.ctx);
    if (!authorized(cfg, req)) {
        httpd_reply_error(rep, 401,
                          "a bearer token is required: Authorization: Bearer TOKEN "
                          "(the one in [http] api_token_file)");
        httpd_reply_header(rep, "WWW-Authenticate", "Bearer realm=\"vomo-sync\"");
        return false;
    }
    struct api_req r;
    if (!parse_request(api, req, &r, rep))
        return false;
    if (apidoc_wants_live(&r.q, httpd_header(req, "Cache-Control")))
        return start_live(api, req, &r, start_ns, rep);
    if (over_share(api, cfg, rep))
        return false;
    answer_mirror(api, &r, API_SRC_MIRROR, 0, NULL, rep);
    return false;
}

static void on_api(const struct httpd_request *req, struct httpd_reply *rep, void *ctx)
{
    struct web_api *api = ctx;
    uint64_t start_ns = uv_hrtime();
    if (serve(api, req, start_ns, rep))
        return;
    char tenant[APIDOC_TENANT_MAX];
    const char *resource;
    path_labels(api->view.config(api->view.ctx), req->path, tenant, &resource);
    count_answer(tenant, resource, rep, start_ns);
}

int web_api_routes(struct web *w)
{
    struct web_api *api = xcalloc(1, sizeof(*api));
    api->w = w;
    engine_view(w->e, &api->view);
    timeshare_init(&api->share);
    uv_timer_init(httpd_loop(w->srv), &api->tick);
    api->tick.data = api;
    w->api = api;
    return httpd_route_add(w->srv, "GET", API_PREFIX, on_api, api);
}

cJSON *web_api_live_json(const struct web *w)
{
    const struct web_api *api = w->api;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "waiting_replies", w->srv ? httpd_deferred_count(w->srv) : 0);
    cJSON_AddNumberToObject(o, "live_reads_max_per_tenant", API_LIVE_PER_TENANT);
    cJSON_AddNumberToObject(o, "mirror_time_used_ms", (double)api->share.used_us / 1000.0);
    cJSON_AddNumberToObject(o, "shed_for_time_share", (double)api->shed);
    cJSON *per = cJSON_AddObjectToObject(o, "live_reads");
    for (const struct live_count *c = api->counts; c; c = c->next)
        cJSON_AddNumberToObject(per, c->tenant, c->n);
    return o;
}

static void on_tick_closed(uv_handle_t *h)
{
    struct web_api *api = h->data;
    struct web *w = api->w;
    void (*closed)(struct web * w) = api->closed;
    for (struct live_count *c = api->counts, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(api);
    w->api = NULL;
    closed(w);
}

void web_api_close(struct web *w, void (*closed)(struct web *w))
{
    struct web_api *api = w->api;
    api->closed = closed;
    uv_timer_stop(&api->tick);
    uv_close((uv_handle_t *)&api->tick, on_tick_closed);
}
