/*
 * check_web_api.c - the read API of the running engine against the fake
 * VOMO, asked over HTTP from a client thread while the test's loop turns:
 * a fresh answer with its headers (Cache-Status, Age, Last-Modified) and
 * the payload byte for byte as VOMO sent it; 400 for bad parameters and
 * 404 for unknown tenants, resources and records; pages of 100 in id order
 * whose links walk the whole list exactly once, updated_after kept; a
 * deleted record (410 with deleted_at, gone from lists); stale past twice
 * the poll interval and 503 with Retry-After past max_stale while the fake
 * answers 503; the bearer token; live list reads that hasten a scan and
 * see a change at once, fall back (stale, upstream-down) while VOMO fails
 * and while the breaker is open; live reads of one record from VOMO
 * (applied to the mirror), falling back on 503 and an open breaker, VOMO's
 * 404 and 401 passed on, a client that leaves cancelling its read, and a
 * flood shed with 429 that asks VOMO no more than the reads it admits and
 * does not hold up the scans; plain reads past their share of the loop
 * shed the same way.  The read API's metrics, read on scrapes.
 * The lower tiers of README "When VOMO is down": a webhook destination
 * answering 503 (breaker open) or 410 (paused) while the mirror goes on
 * serving what it took and /status says so; the state database full
 * (max_page_count: it cannot grow) while reads, /status and /metrics go
 * on, and disk_low from an injected free-space figure.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apidoc.h"
#include "recordfetch.h"
#include "statusdoc.h"
#include "testutil.h"
#include "web.h"

struct rig {
    struct tu_env env;
    struct tu_engine te;
    struct web web;
    bool web_closed;
};

/* The engine on the configuration written, and the endpoint. */
static void rig_open(struct rig *r)
{
    tu_engine_start(&r->env, &r->te);
    int fd;
    bool activated;
    char err[256];
    ck_assert_int_eq(web_bind("127.0.0.1:0", &fd, &activated, err, sizeof(err)), 0);
    ck_assert_int_eq(
        web_open(&r->web, &r->te.loop, r->te.e, "127.0.0.1:0", fd, false, err, sizeof(err)), 0);
    web_set_phase(&r->web, WEB_READY);
}

static void rig_start_opts(struct rig *r, const struct fake_opts *o, int users,
                           const char *overrides, const char *more)
{
    tu_env_init(&r->env, o);
    if (overrides && strstr(overrides, "api_token_file")) /* relative to the config file */
        tu_write(&r->env, "api.token", "s3cret-api-token\n");
    tu_tenant(&r->env, "acme", users, 5, 5);
    tu_fake_start(&r->env);
    char *ini = tu_tenant_ini("acme", more);
    tu_config(&r->env, overrides, ini);
    free(ini);
    rig_open(r);
}

static void rig_start(struct rig *r, int users, const char *overrides, const char *more)
{
    rig_start_opts(r, NULL, users, overrides, more);
}

static void on_web_closed(struct web *w)
{
    struct rig *r = container_of(w, struct rig, web);
    r->web_closed = true;
}

static void rig_stop(struct rig *r)
{
    web_close(&r->web, on_web_closed);
    tu_engine_stop(&r->te);
    ck_assert(r->web_closed);
    tu_env_cleanup(&r->env);
}

static bool first_scans(void *arg)
{
    return tu_scans_at_least(arg, 1);
}

static void wait_synced(struct rig *r)
{
    ck_assert(tu_run_until(&r->te, first_scans, r->te.e, 20000));
}

/* ---- a blocking client on its own thread ---- */

struct req {
    long timeout_ms; /* the client gives up after this (0: 10 s) */
    uint16_t port;
    char path[512];
    const char *hdr[4];
    long status;
    struct buf body, headers;
    volatile bool done;
    pthread_t th;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    (void)!buf_append(arg, p, size * n);
    return size * n;
}

static void *req_thread(void *arg)
{
    struct req *q = arg;
    CURL *c = curl_easy_init();
    char url[600];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", q->port, q->path);
    struct curl_slist *h = NULL;
    for (int i = 0; i < 4 && q->hdr[i]; i++)
        h = curl_slist_append(h, q->hdr[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, q->timeout_ms ? q->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &q->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &q->headers);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    (void)!buf_puts(&q->body, "");
    (void)!buf_puts(&q->headers, "");
    q->done = true;
    return NULL;
}

static void req_start_t(struct rig *r, struct req *q, const char *path, const char *h1,
                        const char *h2, long timeout_ms)
{
    memset(q, 0, sizeof(*q));
    q->timeout_ms = timeout_ms;
    q->port = web_port(&r->web);
    snprintf(q->path, sizeof(q->path), "%s", path);
    q->hdr[0] = h1;
    q->hdr[1] = h1 ? h2 : NULL;
    buf_init(&q->body, 0);
    buf_init(&q->headers, 0);
    ck_assert_int_eq(pthread_create(&q->th, NULL, req_thread, q), 0);
}

static void req_start(struct rig *r, struct req *q, const char *path, const char *h1,
                      const char *h2)
{
    req_start_t(r, q, path, h1, h2, 0);
}

static bool req_done(void *arg)
{
    return ((struct req *)arg)->done;
}

static void req_wait(struct rig *r, struct req *q)
{
    ck_assert_msg(tu_run_until(&r->te, req_done, q, 15000), "no answer to %s", q->path);
    pthread_join(q->th, NULL);
}

static void req_free(struct req *q)
{
    buf_free(&q->body);
    buf_free(&q->headers);
}

/* GET path (headers h1, h2 may be NULL); the answer stays in *q. */
static long get(struct rig *r, struct req *q, const char *path, const char *h1, const char *h2)
{
    req_start(r, q, path, h1, h2);
    req_wait(r, q);
    return q->status;
}

/* A response header's value ("" when absent), copied into a static slot. */
static const char *header(const struct req *q, const char *name)
{
    static char slots[4][256];
    static int next;
    char *out = slots[next++ % 4];
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *p = q->headers.data; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n + 1 && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, 256, "%.*s", (int)(len - (size_t)(v - p)), v);
        }
        p = eol ? eol + 2 : p + len;
    }
    return out;
}

static cJSON *json_of(const struct req *q)
{
    cJSON *j = cJSON_Parse(q->body.data);
    ck_assert_msg(j, "not JSON: %s", q->body.data);
    return j;
}

static cJSON *meta_of(cJSON *j, const char *key)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(j, "meta"), key);
}

/* The fake's users in id order (the caller frees). */
static struct fake_record *users(struct rig *r, size_t *n)
{
    struct fake_record *recs;
    ck_assert_int_eq(fake_records(r->env.fake, "acme", "users", &recs, n), 0);
    return recs;
}

/* ---- metrics, read on a scrape ---- */

/* GET /metrics (the caller frees). */
static char *scrape(struct rig *r)
{
    struct req q;
    ck_assert_int_eq(get(r, &q, "/metrics", NULL, NULL), 200);
    char *text = xstrdup(q.body.data);
    req_free(&q);
    return text;
}

/* The value of one series exactly as written ("name{a=\"x\"}"), 0 when
 * the scrape has no such series. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        if (!eol)
            break;
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        line = eol + 1;
    }
    return 0;
}

/* How far a series moved between two scrapes. */
static double moved(const char *before, const char *after, const char *series)
{
    return value_of(after, series) - value_of(before, series);
}

#define API_REQ(t, r, code, cache)                                                                 \
    "vomo_sync_api_requests_total{tenant=\"" t "\",resource=\"" r "\",code=\"" code                \
    "\",cache=\"" cache "\"}"
#define API_LIVE(t, outcome)                                                                       \
    "vomo_sync_api_live_reads_total{tenant=\"" t "\",outcome=\"" outcome "\"}"

/* ---- mirror reads ---- */

START_TEST(fresh_answer_with_headers)
{
    struct rig r;
    rig_start(&r, 40, NULL, "resources = users, groups");
    wait_synced(&r);
    size_t n;
    struct fake_record *recs = users(&r, &n);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s", recs[3].id);
    struct req q;
    ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 200);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; hit");
    ck_assert_str_eq(header(&q, "Content-Type"), "application/json");
    int64_t age = atoll(header(&q, "Age"));
    ck_assert_msg(header(&q, "Age")[0] && age >= 0 && age < 5, "Age: %s", header(&q, "Age"));
    int64_t ms;
    ck_assert_int_eq(ts_parse(recs[3].updated_at, &ms), 0);
    char date[APIDOC_HTTP_DATE_LEN];
    apidoc_http_date(ms, date);
    ck_assert_str_eq(header(&q, "Last-Modified"), date);
    /* data is the payload as VOMO sent it: the mirror's own bytes. */
    char *stored = tu_db_text(&r.env,
                              "SELECT payload FROM records WHERE tenant = 'acme' AND "
                              "resource = 'users' AND id = ?1",
                              recs[3].id, NULL);
    ck_assert_ptr_nonnull(stored);
    char *want = xasprintf("{\"data\": %s, \"meta\": {", stored);
    ck_assert_msg(strncmp(q.body.data, want, strlen(want)) == 0, "%s", q.body.data);
    free(want);
    free(stored);
    cJSON *j = json_of(&q);
    ck_assert(cJSON_IsFalse(meta_of(j, "stale")));
    ck_assert_str_eq(meta_of(j, "upstream")->valuestring, "ok");
    ck_assert(cJSON_IsString(meta_of(j, "as_of")));
    cJSON_Delete(j);
    req_free(&q);
    /* HEAD answers too, without a body. */
    fake_records_free(recs, n);
    /* 404: tenant, resource, a resource the tenant does not sync, a record. */
    const char *missing[] = {"/api/v1/nobody/users/1", "/api/v1/acme/widgets/1",
                             "/api/v1/acme/projects/1", "/api/v1/acme/users/999999",
                             "/api/v1/acme/projects"};
    for (size_t i = 0; i < ARRAY_SIZE(missing); i++) {
        ck_assert_msg(get(&r, &q, missing[i], NULL, NULL) == 404, "%s: %ld", missing[i], q.status);
        j = json_of(&q);
        ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "error")));
        cJSON_Delete(j);
        req_free(&q);
    }
    /* 400: bad parameters, each with a JSON error naming it. */
    const char *bad[] = {"/api/v1/acme/users?page=0",
                         "/api/v1/acme/users?page=two",
                         "/api/v1/acme/users?updated_after=yesterday",
                         "/api/v1/acme/users?email_like=x",
                         "/api/v1/acme/users/1?page=2",
                         "/api/v1/acme/users?live=maybe",
                         "/api/v1/acme/users/1/2",
                         "/api/v1/acme/users/"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        ck_assert_msg(get(&r, &q, bad[i], NULL, NULL) == 400, "%s: %ld", bad[i], q.status);
        j = json_of(&q);
        ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "error")));
        cJSON_Delete(j);
        req_free(&q);
    }
    rig_stop(&r);
}
END_TEST

/* Walks every page by its links.next: each id exactly once, in order. */
START_TEST(paging_in_id_order)
{
    struct rig r;
    rig_start(&r, 250, NULL, NULL);
    wait_synced(&r);
    size_t n;
    struct fake_record *recs = users(&r, &n);
    ck_assert_uint_eq(n, 250);
    char path[512] = "/api/v1/acme/users";
    char prev_id[64] = "";
    int seen = 0, pages = 0;
    while (path[0]) {
        struct req q;
        ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 200);
        cJSON *j = json_of(&q);
        cJSON *data = cJSON_GetObjectItem(j, "data"), *it;
        pages++;
        ck_assert_int_eq(meta_of(j, "total")->valueint, 250);
        ck_assert_int_eq(meta_of(j, "per_page")->valueint, 100);
        ck_assert_int_eq(meta_of(j, "current_page")->valueint, pages);
        ck_assert_int_eq(meta_of(j, "last_page")->valueint, 3);
        ck_assert_int_eq(cJSON_GetArraySize(data), pages < 3 ? 100 : 50);
        cJSON_ArrayForEach(it, data)
        {
            cJSON *id = cJSON_GetObjectItem(it, "id");
            char idtext[64];
            if (cJSON_IsNumber(id))
                snprintf(idtext, sizeof(idtext), "%d", id->valueint);
            else
                snprintf(idtext, sizeof(idtext), "%s", id->valuestring);
            ck_assert_msg(strcmp(prev_id, idtext) < 0, "%s after %s", idtext, prev_id);
            snprintf(prev_id, sizeof(prev_id), "%s", idtext);
            seen++;
        }
        ck_assert(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "links"), "first")));
        cJSON *next = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "links"), "next");
        path[0] = '\0';
        if (cJSON_IsString(next)) {
            const char *p = strstr(next->valuestring, "/api/v1/");
            ck_assert_ptr_nonnull(p);
            ck_assert(strncmp(next->valuestring, "http://127.0.0.1:", 17) == 0);
            snprintf(path, sizeof(path), "%s", p);
        }
        cJSON_Delete(j);
        req_free(&q);
    }
    ck_assert_int_eq(pages, 3);
    ck_assert_int_eq(seen, 250);
    /* updated_after: inclusive, kept in the links. */
    const char *cut = recs[n / 2].updated_at;
    int want = 0;
    for (size_t i = 0; i < n; i++)
        want += strcmp(recs[i].updated_at, cut) >= 0;
    snprintf(path, sizeof(path), "/api/v1/acme/users?updated_after=%s", cut);
    struct req q;
    ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 200);
    cJSON *j = json_of(&q);
    ck_assert_int_eq(meta_of(j, "total")->valueint, want);
    const char *first = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "links"), "first")->valuestring;
    ck_assert_msg(strstr(first, "updated_after="), "%s", first);
    cJSON_Delete(j);
    req_free(&q);
    /* Past the end: an empty page, like VOMO's. */
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users?page=9", NULL, NULL), 200);
    j = json_of(&q);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 0);
    cJSON_Delete(j);
    req_free(&q);
    fake_records_free(recs, n);
    rig_stop(&r);
}
END_TEST

START_TEST(deleted_records)
{
    struct rig r;
    rig_start(&r, 30, NULL, NULL);
    wait_synced(&r);
    size_t n;
    struct fake_record *recs = users(&r, &n);
    ck_assert_int_eq(store_record_mark_deleted(r.te.store, "acme", "users", recs[0].id,
                                               "2026-11-28T08:43:07.000Z"),
                     0);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s", recs[0].id);
    struct req q;
    ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 410);
    cJSON *j = json_of(&q);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "deleted_at")->valuestring, "2026-11-28T08:43:07.000Z");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, recs[0].id);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; hit");
    cJSON_Delete(j);
    req_free(&q);
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users", NULL, NULL), 200);
    j = json_of(&q);
    ck_assert_int_eq(meta_of(j, "total")->valueint, 29);
    ck_assert_ptr_null(strstr(q.body.data, recs[0].payload));
    cJSON_Delete(j);
    req_free(&q);
    fake_records_free(recs, n);
    rig_stop(&r);
}
END_TEST

static bool scan_failed_once(void *arg)
{
    struct rig *r = arg;
    return tu_db_int(&r->env,
                     "SELECT count(*) FROM scans WHERE tenant = 'acme' AND resource = 'users' "
                     "AND status = 'failed'",
                     NULL) > 0;
}

/* While VOMO answers 503: stale past twice the poll interval (200 ms),
 * refused with 503 and Retry-After past max_stale (1 s). */
START_TEST(stale_then_refused_past_max_stale)
{
    struct rig r;
    rig_start(&r, 20, "http.max_stale = 1500ms\nretry.max_attempts = 1", NULL);
    wait_synced(&r);
    struct fake_fault f = {.path = "/v1/*", .kind = FAKE_FAULT_STATUS, .status = 503};
    ck_assert_int_gt(fake_add_fault(r.env.fake, &f), 0);
    ck_assert(tu_run_until(&r.te, scan_failed_once, &r, 10000));
    tu_run_for(&r.te, 500);
    struct req q;
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users", NULL, NULL), 200);
    cJSON *j = json_of(&q);
    ck_assert(cJSON_IsTrue(meta_of(j, "stale")));
    ck_assert_str_eq(meta_of(j, "upstream")->valuestring, "unreachable");
    ck_assert_int_ge(atoi(header(&q, "Age")), 0);
    cJSON_Delete(j);
    req_free(&q);
    tu_run_for(&r.te, 1200);
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users", NULL, NULL), 503);
    ck_assert_str_eq(header(&q, "Retry-After"), "1");
    ck_assert_int_ge(atoi(header(&q, "Age")), 1);
    j = json_of(&q);
    ck_assert_ptr_nonnull(strstr(cJSON_GetObjectItem(j, "error")->valuestring, "max_stale"));
    ck_assert(cJSON_IsTrue(meta_of(j, "stale")));
    cJSON_Delete(j);
    req_free(&q);
    /* VOMO back: the next complete scan serves again. */
    fake_clear_faults(r.env.fake);
    for (int i = 0; i < 100; i++) {
        tu_run_for(&r.te, 50);
        long st = get(&r, &q, "/api/v1/acme/users", NULL, NULL);
        req_free(&q);
        if (st == 200)
            break;
    }
    ck_assert_int_eq(q.status, 200);
    rig_stop(&r);
}
END_TEST

START_TEST(bearer_token)
{
    struct rig r;
    rig_start(&r, 10, "http.api_token_file = api.token", NULL);
    wait_synced(&r);
    struct req q;
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users", NULL, NULL), 401);
    ck_assert_ptr_nonnull(strstr(header(&q, "WWW-Authenticate"), "Bearer"));
    ck_assert_ptr_null(strstr(q.body.data, "s3cret"));
    req_free(&q);
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users", "Authorization: Bearer wrong", NULL), 401);
    req_free(&q);
    ck_assert_int_eq(
        get(&r, &q, "/api/v1/acme/users", "Authorization: Bearer s3cret-api-token-and-more", NULL),
        401);
    req_free(&q);
    ck_assert_int_eq(
        get(&r, &q, "/api/v1/acme/users", "Authorization: Bearer s3cret-api-token", NULL), 200);
    req_free(&q);
    /* The other paths are not the API's. */
    ck_assert_int_eq(get(&r, &q, "/healthz", NULL, NULL), 200);
    req_free(&q);
    rig_stop(&r);
}
END_TEST

/* ---- live list reads ---- */

static int fake_list_requests(struct rig *r)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(r->env.fake, &reqs, &n), 0);
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += strcmp(reqs[i].path, "/v1/users") == 0;
    fake_requests_free(reqs, n);
    return c;
}

/* With poll.interval = 1h, a live list read hastens the scan: the change
 * VOMO made shows at once, and says how it was had. */
START_TEST(live_list_hastens_a_scan)
{
    struct rig r;
    rig_start(&r, 30, "poll.interval = 1h", NULL);
    wait_synced(&r);
    tu_run_for(&r.te, 1100); /* past the gap in which a list counts as just scanned */
    size_t n;
    struct fake_record *before = users(&r, &n);
    ck_assert_int_eq(fake_mutate_id(r.env.fake, "acme", "users", before[5].id), 0);
    struct fake_record *after = users(&r, &n);
    int lists = fake_list_requests(&r);
    struct req q;
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users?live=1", NULL, NULL), 200);
    ck_assert_int_gt(fake_list_requests(&r), lists);
    ck_assert_str_eq(header(&q, "Cache-Status"),
                     "vomo-sync; fwd=miss; fwd-status=200; detail=scan");
    cJSON *j = json_of(&q);
    ck_assert_str_eq(meta_of(j, "live")->valuestring, "scanned");
    ck_assert(cJSON_IsFalse(meta_of(j, "stale")));
    cJSON_Delete(j);
    ck_assert_msg(strstr(q.body.data, after[5].payload), "the change is not in the answer");
    req_free(&q);
    /* Cache-Control: no-cache asks the same; just scanned, it is answered as it is. */
    lists = fake_list_requests(&r);
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users", "Cache-Control: no-cache", NULL), 200);
    j = json_of(&q);
    ck_assert_str_eq(meta_of(j, "live")->valuestring, "recent");
    cJSON_Delete(j);
    ck_assert_int_eq(fake_list_requests(&r), lists);
    req_free(&q);
    fake_records_free(before, n);
    fake_records_free(after, n);
    rig_stop(&r);
}
END_TEST

/* A scan slower than live_timeout: the mirror answers when the time is
 * up, saying the scan is still pending; the scan still ends. */
START_TEST(live_list_pending_past_live_timeout)
{
    struct rig r;
    rig_start(&r, 20, "poll.interval = 1h\nhttp.live_timeout = 150ms", NULL);
    wait_synced(&r);
    tu_run_for(&r.te, 1100);
    struct fake_fault f = {.path = "/v1/users", .kind = FAKE_FAULT_DELAY, .delay_ms = 600};
    ck_assert_int_gt(fake_add_fault(r.env.fake, &f), 0);
    int64_t scans = tu_slot_scans(r.te.e, "acme", "users");
    struct req q;
    uint64_t t0 = uv_now(&r.te.loop);
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users?live=1", NULL, NULL), 200);
    uv_update_time(&r.te.loop);
    ck_assert_uint_lt(uv_now(&r.te.loop) - t0, 550); /* did not wait for the scan */
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; hit; detail=scan-pending");
    cJSON *j = json_of(&q);
    ck_assert_str_eq(meta_of(j, "live")->valuestring, "pending");
    cJSON_Delete(j);
    req_free(&q);
    for (int i = 0; i < 100 && tu_slot_scans(r.te.e, "acme", "users") <= scans; i++)
        tu_run_for(&r.te, 20);
    ck_assert_int_gt(tu_slot_scans(r.te.e, "acme", "users"), scans);
    rig_stop(&r);
}
END_TEST

static bool breaker_open(void *arg)
{
    struct rig *r = arg;
    return r->te.e->vomo_breaker.state == BREAKER_OPEN;
}

/* VOMO failing: the hastened scan fails and the mirror answers, stale,
 * upstream-down; with the breaker open, at once without asking VOMO. */
START_TEST(live_list_falls_back)
{
    struct rig r;
    rig_start(&r, 20,
              "poll.interval = 1h\nretry.max_attempts = 2\nbreaker.failure_threshold = 4\n"
              "breaker.open_timeout = 1h",
              NULL);
    wait_synced(&r);
    tu_run_for(&r.te, 1100);
    struct fake_fault f = {.path = "/v1/*", .kind = FAKE_FAULT_STATUS, .status = 503};
    ck_assert_int_gt(fake_add_fault(r.env.fake, &f), 0);
    struct req q;
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users?live=1", NULL, NULL), 200);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; hit; detail=upstream-down");
    cJSON *j = json_of(&q);
    ck_assert(cJSON_IsTrue(meta_of(j, "stale")));
    ck_assert_str_eq(meta_of(j, "live")->valuestring, "scan-failed");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 20);
    cJSON_Delete(j);
    req_free(&q);
    /* More failures open the breaker. */
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/groups?live=1", NULL, NULL), 200);
    req_free(&q);
    ck_assert(tu_run_until(&r.te, breaker_open, &r, 5000));
    int lists = fake_list_requests(&r);
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users?live=1", NULL, NULL), 200);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; hit; detail=upstream-down");
    j = json_of(&q);
    ck_assert(cJSON_IsTrue(meta_of(j, "stale")));
    ck_assert_str_eq(meta_of(j, "upstream")->valuestring, "breaker_open");
    cJSON_Delete(j);
    req_free(&q);
    ck_assert_int_eq(fake_list_requests(&r), lists); /* VOMO was not asked */
    /* A plain read says the same about upstream, without being stale. */
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users", NULL, NULL), 200);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; hit");
    j = json_of(&q);
    ck_assert_str_eq(meta_of(j, "upstream")->valuestring, "breaker_open");
    cJSON_Delete(j);
    req_free(&q);
    rig_stop(&r);
}
END_TEST

/* ---- live reads of one record ---- */

static int fake_gets_of(struct rig *r, const char *path, int status)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(r->env.fake, &reqs, &n), 0);
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += strcmp(reqs[i].method, "GET") == 0 &&
             (path ? strcmp(reqs[i].path, path) == 0
                   : strncmp(reqs[i].path, "/v1/users/", 10) == 0) &&
             (status == 0 || reqs[i].status == status);
    fake_requests_free(reqs, n);
    return c;
}

/* VOMO answers: the record as it is now, applied to the mirror too. */
START_TEST(live_record_fresh)
{
    struct rig r;
    rig_start(&r, 20, "poll.interval = 1h", NULL);
    wait_synced(&r);
    size_t n;
    struct fake_record *before = users(&r, &n);
    tu_run_for(&r.te, 1100); /* a new second: the change gets a newer updated_at */
    ck_assert_int_eq(fake_mutate_id(r.env.fake, "acme", "users", before[2].id), 0);
    struct fake_record *after = users(&r, &n);
    ck_assert_str_ne(before[2].updated_at, after[2].updated_at);
    char path[128], vpath[64];
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s?live=1", after[2].id);
    snprintf(vpath, sizeof(vpath), "/v1/users/%s", after[2].id);
    struct req q;
    ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 200);
    ck_assert_int_eq(fake_gets_of(&r, vpath, 200), 1);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; fwd=miss; fwd-status=200");
    ck_assert_str_eq(header(&q, "Age"), "0");
    int64_t ms;
    ck_assert_int_eq(ts_parse(after[2].updated_at, &ms), 0);
    char date[APIDOC_HTTP_DATE_LEN];
    apidoc_http_date(ms, date);
    ck_assert_str_eq(header(&q, "Last-Modified"), date);
    ck_assert_msg(strstr(q.body.data, after[2].payload), "%s", q.body.data);
    cJSON *j = json_of(&q);
    ck_assert(cJSON_IsFalse(meta_of(j, "stale")));
    ck_assert_str_eq(meta_of(j, "upstream")->valuestring, "ok");
    cJSON_Delete(j);
    req_free(&q);
    /* The mirror took it (a normal apply): a plain read now has it. */
    char *ua = tu_db_text(&r.env,
                          "SELECT updated_at FROM records WHERE tenant = 'acme' AND resource = "
                          "'users' AND id = ?1",
                          after[2].id, NULL);
    ck_assert_str_eq(ua, after[2].updated_at);
    free(ua);
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s", after[2].id);
    ck_assert_int_eq(get(&r, &q, path, "Cache-Control: max-age=0", NULL), 200);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; hit");
    ck_assert_msg(strstr(q.body.data, after[2].payload), "%s", q.body.data);
    req_free(&q);
    fake_records_free(before, n);
    fake_records_free(after, n);
    rig_stop(&r);
}
END_TEST

/* VOMO failing (503), then its breaker open: the mirror answers, stale,
 * upstream-down; with the breaker open VOMO is not asked at all. */
START_TEST(live_record_falls_back)
{
    struct rig r;
    rig_start(&r, 20,
              "poll.interval = 1h\nretry.max_attempts = 1\nbreaker.failure_threshold = 3\n"
              "breaker.open_timeout = 1h",
              NULL);
    wait_synced(&r);
    size_t n;
    struct fake_record *recs = users(&r, &n);
    struct fake_fault f = {.path = "/v1/*", .kind = FAKE_FAULT_STATUS, .status = 503};
    ck_assert_int_gt(fake_add_fault(r.env.fake, &f), 0);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s?live=1", recs[1].id);
    struct req q;
    ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 200);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; hit; detail=upstream-down");
    ck_assert_msg(strstr(q.body.data, recs[1].payload), "%s", q.body.data);
    cJSON *j = json_of(&q);
    ck_assert(cJSON_IsTrue(meta_of(j, "stale")));
    ck_assert_str_eq(meta_of(j, "upstream")->valuestring, "unreachable");
    cJSON_Delete(j);
    req_free(&q);
    ck_assert_int_ge(fake_gets_of(&r, NULL, 503), 1);
    for (int i = 0; i < 5 && !breaker_open(&r); i++) {
        ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 200);
        req_free(&q);
    }
    ck_assert(tu_run_until(&r.te, breaker_open, &r, 5000));
    int asked = fake_gets_of(&r, NULL, 0);
    ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 200);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; hit; detail=upstream-down");
    j = json_of(&q);
    ck_assert(cJSON_IsTrue(meta_of(j, "stale")));
    ck_assert_str_eq(meta_of(j, "upstream")->valuestring, "breaker_open");
    cJSON_Delete(j);
    req_free(&q);
    ck_assert_int_eq(fake_gets_of(&r, NULL, 0), asked);
    fake_records_free(recs, n);
    rig_stop(&r);
}
END_TEST

static bool no_fetch_open(void *arg)
{
    (void)arg;
    return recordfetch_open_count() == 0;
}

/* VOMO's 404 and 401 are passed on, never masked by the mirror's copy. */
START_TEST(live_record_passes_404_and_401)
{
    struct rig r;
    rig_start(&r, 20, "poll.interval = 1h", NULL);
    wait_synced(&r);
    size_t n;
    struct fake_record *recs = users(&r, &n);
    ck_assert_int_eq(fake_delete_id(r.env.fake, "acme", "users", recs[4].id), 0);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s?live=1", recs[4].id);
    struct req q;
    get(&r, &q, path, NULL, NULL);
    ck_assert_msg(q.status == 404, "%ld %s %s", q.status, header(&q, "Cache-Status"), q.body.data);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; fwd=miss; fwd-status=404");
    cJSON *j = json_of(&q);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "upstream_status")->valueint, 404);
    cJSON_Delete(j);
    ck_assert_ptr_null(strstr(q.body.data, recs[4].payload));
    req_free(&q);
    /* The token revoked: 401 passed on, then remembered.  First the 404's
     * read ends (it goes on retrying to confirm the deletion), or its next
     * attempt would meet the 401 before ours. */
    ck_assert(tu_run_until(&r.te, no_fetch_open, NULL, 10000));
    /* ...and once confirmed, the mirror has it deleted too. */
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s", recs[4].id);
    ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 410);
    req_free(&q);
    ck_assert_int_eq(fake_revoke(r.env.fake, "acme", true), 0);
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s?live=1", recs[5].id);
    ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 401);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; fwd=miss; fwd-status=401");
    ck_assert_ptr_null(strstr(q.body.data, recs[5].payload));
    req_free(&q);
    int asked = fake_gets_of(&r, NULL, 0);
    ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 401);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; detail=upstream-refused");
    j = json_of(&q);
    ck_assert_str_eq(meta_of(j, "upstream")->valuestring, "auth_failed");
    cJSON_Delete(j);
    req_free(&q);
    ck_assert_int_eq(fake_gets_of(&r, NULL, 0), asked); /* not asked again */
    /* A plain read still serves the mirror, saying why VOMO is not asked. */
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s", recs[5].id);
    ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 200);
    j = json_of(&q);
    ck_assert_str_eq(meta_of(j, "upstream")->valuestring, "auth_failed");
    cJSON_Delete(j);
    req_free(&q);
    fake_records_free(recs, n);
    rig_stop(&r);
}
END_TEST

/*
 * Each request moves vomo_sync_api_requests_total by one in the series of
 * its status and cache decision, with names nobody configured counted as
 * "other"; live reads count their outcome; the answer time is observed
 * once per request of the tenant.
 */
START_TEST(requests_are_counted_on_a_scrape)
{
    struct rig r;
    rig_start(&r, 20, "poll.interval = 1h\nretry.max_attempts = 1", NULL);
    wait_synced(&r);
    size_t n;
    struct fake_record *recs = users(&r, &n);
    char *m0 = scrape(&r);
    ck_assert_double_eq(value_of(m0, API_REQ("acme", "users", "200", "hit")), 0);
    ck_assert_msg(strstr(m0, API_LIVE("acme", "shed") " 0\n"), "live reads not pre-initialised");
    char path[128], live[160];
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s", recs[2].id);
    snprintf(live, sizeof(live), "%s?live=1", path);
    struct req q;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 200);
        req_free(&q);
    }
    ck_assert_int_eq(get(&r, &q, "/api/v1/nobody/users/1", NULL, NULL), 404);
    req_free(&q);
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/widgets", NULL, NULL), 404);
    req_free(&q);
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users?page=0", NULL, NULL), 400);
    req_free(&q);
    ck_assert_int_eq(get(&r, &q, live, NULL, NULL), 200);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; fwd=miss; fwd-status=200");
    req_free(&q);
    struct fake_fault f = {.path = "/v1/*", .kind = FAKE_FAULT_STATUS, .status = 503};
    ck_assert_int_gt(fake_add_fault(r.env.fake, &f), 0);
    ck_assert_int_eq(get(&r, &q, live, NULL, NULL), 200);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; hit; detail=upstream-down");
    req_free(&q);
    char *m1 = scrape(&r);
    ck_assert_double_eq(moved(m0, m1, API_REQ("acme", "users", "200", "hit")), 2);
    ck_assert_double_eq(moved(m0, m1, API_REQ("other", "users", "404", "none")), 1);
    ck_assert_double_eq(moved(m0, m1, API_REQ("acme", "other", "404", "none")), 1);
    ck_assert_double_eq(moved(m0, m1, API_REQ("acme", "users", "400", "none")), 1);
    ck_assert_double_eq(moved(m0, m1, API_REQ("acme", "users", "200", "fwd")), 1);
    ck_assert_double_eq(moved(m0, m1, API_REQ("acme", "users", "200", "stale")), 1);
    ck_assert_double_eq(moved(m0, m1, API_LIVE("acme", "forwarded")), 1);
    ck_assert_double_eq(moved(m0, m1, API_LIVE("acme", "fallback")), 1);
    ck_assert_double_eq(moved(m0, m1, API_LIVE("acme", "shed")), 0);
    ck_assert_double_eq(
        moved(m0, m1, "vomo_sync_api_request_duration_seconds_count{tenant=\"acme\"}"), 6);
    ck_assert_ptr_null(strstr(m1, "tenant=\"nobody\""));
    ck_assert_ptr_null(strstr(m1, "resource=\"widgets\""));
    free(m0);
    free(m1);
    fake_records_free(recs, n);
    rig_stop(&r);
}
END_TEST

/* A client that gives up cancels its read: its place is free again. */
START_TEST(client_gone_cancels_its_read)
{
    struct fake_opts o;
    fake_opts_default(&o);
    struct rig r;
    rig_start_opts(&r, &o, 20, "poll.interval = 1h\nhttp.live_timeout = 5s", NULL);
    wait_synced(&r);
    size_t n;
    struct fake_record *recs = users(&r, &n);
    struct fake_fault f = {.path = "/v1/users/*", .kind = FAKE_FAULT_DELAY, .delay_ms = 1500};
    ck_assert_int_gt(fake_add_fault(r.env.fake, &f), 0);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s?live=1", recs[0].id);
    struct req q[2];
    for (int i = 0; i < 2; i++) /* the tenant's two places, given up after 800 ms */
        req_start_t(&r, &q[i], path, NULL, NULL, 800);
    for (int i = 0; i < 100 && httpd_deferred_count(r.web.srv) < 2; i++)
        tu_run_for(&r.te, 10);
    /* /status shows them waiting (the loop turns for its answer). */
    struct req st;
    ck_assert_int_eq(get(&r, &st, "/status", NULL, NULL), 200);
    cJSON *doc = json_of(&st);
    cJSON *ra = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "live"), "read_api");
    ck_assert_int_eq(cJSON_GetObjectItem(ra, "waiting_replies")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(ra, "live_reads"), "acme")->valueint,
                     2);
    cJSON_Delete(doc);
    req_free(&st);
    req_wait(&r, &q[0]);
    req_wait(&r, &q[1]);
    req_free(&q[0]);
    req_free(&q[1]);
    ck_assert_int_eq(q[0].status, 0); /* no answer: they left */
    for (int i = 0; i < 100 && httpd_deferred_count(r.web.srv) > 0; i++)
        tu_run_for(&r.te, 20);
    ck_assert_uint_eq(httpd_deferred_count(r.web.srv), 0);
    fake_clear_faults(r.env.fake);
    ck_assert(tu_run_until(&r.te, no_fetch_open, NULL, 5000));
    struct req again;
    ck_assert_int_eq(get(&r, &again, path, NULL, NULL), 200);
    ck_assert_str_eq(header(&again, "Cache-Status"), "vomo-sync; fwd=miss; fwd-status=200");
    req_free(&again);
    fake_records_free(recs, n);
    rig_stop(&r);
}
END_TEST

#define FLOOD 24

/*
 * A flood of live reads of single records while VOMO is slow: at most
 * API_LIVE_PER_TENANT wait, the rest get 429 with Retry-After at once;
 * VOMO sees one GET per admitted read and no more; a scan of another
 * resource started meanwhile runs to its end.
 */
START_TEST(flood_of_live_reads_is_shed)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 300; /* each VOMO answer takes a while */
    struct rig r;
    rig_start_opts(&r, &o, 30, "poll.interval = 1h", NULL);
    wait_synced(&r);
    size_t n;
    struct fake_record *recs = users(&r, &n);
    int64_t scans = tu_slot_scans(r.te.e, "acme", "groups");
    fake_requests_clear(r.env.fake);
    char *m0 = scrape(&r);
    static struct req q[FLOOD];
    for (int i = 0; i < FLOOD; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/acme/users/%s?live=1", recs[(size_t)i % n].id);
        req_start(&r, &q[i], path, NULL, NULL);
    }
    uint64_t t0 = uv_now(&r.te.loop);
    slot_schedule(&engine_tenant(r.te.e, "acme")->slots[RES_GROUPS], 0);
    int fwd = 0, shed = 0;
    for (int i = 0; i < FLOOD; i++) {
        req_wait(&r, &q[i]);
        if (q[i].status == 429) {
            shed++;
            ck_assert_str_eq(header(&q[i], "Retry-After"), "1");
        } else {
            ck_assert_int_eq(q[i].status, 200);
            fwd +=
                strcmp(header(&q[i], "Cache-Status"), "vomo-sync; fwd=miss; fwd-status=200") == 0;
        }
        req_free(&q[i]);
    }
    ck_assert_int_ge(shed, FLOOD / 2); /* at most 2 at once, a few more after others ended */
    ck_assert_int_ge(fwd, 2);
    int gets = fake_gets_of(&r, NULL, 0);
    ck_assert_msg(gets == fwd, "VOMO saw %d single reads for %d live answers", gets, fwd);
    ck_assert_int_le(gets, FLOOD - shed);
    char *m1 = scrape(&r); /* every 429 counted as shed, every admitted read by its outcome */
    ck_assert_double_eq(moved(m0, m1, API_LIVE("acme", "shed")), shed);
    ck_assert_double_eq(moved(m0, m1, API_REQ("acme", "users", "429", "none")), shed);
    ck_assert_double_eq(moved(m0, m1, API_LIVE("acme", "forwarded")), fwd);
    ck_assert_double_eq(moved(m0, m1, API_LIVE("acme", "forwarded")) +
                            moved(m0, m1, API_LIVE("acme", "fallback")),
                        FLOOD - shed);
    free(m0);
    free(m1);
    for (int i = 0; i < 200 && tu_slot_scans(r.te.e, "acme", "groups") <= scans; i++)
        tu_run_for(&r.te, 20);
    ck_assert_int_gt(tu_slot_scans(r.te.e, "acme", "groups"), scans);
    uv_update_time(&r.te.loop);
    ck_assert_uint_lt(uv_now(&r.te.loop) - t0, 5000);
    fake_records_free(recs, n);
    rig_stop(&r);
}
END_TEST

/* ---- the destination down (README, "When VOMO is down") ---- */

static bool all_delivered(void *arg)
{
    struct rig *r = arg;
    return tu_db_int(&r->env, "SELECT count(*) FROM records WHERE tenant = 'acme'", NULL) == 20;
}

static bool dest_breaker_open(void *arg)
{
    struct rig *r = arg;
    return engine_tenant(r->te.e, "acme")->dest_breaker.state == BREAKER_OPEN;
}

static bool dest_paused(void *arg)
{
    struct rig *r = arg;
    return engine_tenant(r->te.e, "acme")->dest_paused;
}

/* acme delivers its 20 users to the fake's webhook sink; all delivered. */
static void webhook_rig_start(struct rig *r, const char *overrides)
{
    tu_env_init(&r->env, NULL);
    tu_tenant(&r->env, "acme", 20, 0, 0);
    tu_fake_start(&r->env);
    char *ini = tu_webhook_tenant_ini(&r->env, "acme", "users", "s3cret-value", NULL, NULL);
    tu_config(&r->env, overrides, ini);
    free(ini);
    rig_open(r);
    ck_assert(tu_run_until(&r->te, all_delivered, r, 20000));
}

/* The object of array `arr` whose `key` is `name`, or NULL. */
static cJSON *entry(const cJSON *arr, const char *key, const char *name)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, arr)
    {
        const cJSON *v = cJSON_GetObjectItem(o, key);
        if (cJSON_IsString(v) && strcmp(v->valuestring, name) == 0)
            return (cJSON *)o;
    }
    return NULL;
}

static cJSON *status_of(struct rig *r)
{
    struct req q;
    ck_assert_int_eq(get(r, &q, "/status", NULL, NULL), 200);
    cJSON *doc = json_of(&q);
    req_free(&q);
    return doc;
}

/*
 * VOMO changes four records while the receiver answers 503; their
 * deliveries fail.  Users 0..3 changed at VOMO: asks to send them again.
 * The read API goes on serving, for a changed record, what the
 * destination took (the mirror records what the destination holds), and
 * the whole list; /status shows the destination's breaker open.
 */
static void change_while_down(struct rig *r, struct fake_record **before,
                              struct fake_record **after, size_t *n)
{
    *before = users(r, n);
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(fake_mutate_id(r->env.fake, "acme", "users", (*before)[i].id), 0);
    *after = users(r, n);
    ck_assert_str_ne((*before)[0].payload, (*after)[0].payload);
    slot_schedule(&engine_tenant(r->te.e, "acme")->slots[RES_USERS], 0);
}

/* The mirror's answer for before[0]: its old payload, not VOMO's new one;
 * and the list, all 20. */
static void mirror_still_served(struct rig *r, const struct fake_record *before,
                                const struct fake_record *after)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s", before[0].id);
    struct req q;
    ck_assert_int_eq(get(r, &q, path, NULL, NULL), 200);
    ck_assert_str_eq(header(&q, "Cache-Status"), "vomo-sync; hit");
    ck_assert_msg(strstr(q.body.data, before[0].payload), "not what the destination took: %s",
                  q.body.data);
    ck_assert_ptr_null(strstr(q.body.data, after[0].payload));
    req_free(&q);
    ck_assert_int_eq(get(r, &q, "/api/v1/acme/users", NULL, NULL), 200);
    cJSON *j = json_of(&q);
    ck_assert_int_eq(meta_of(j, "total")->valueint, 20);
    cJSON_Delete(j);
    req_free(&q);
}

/* A client reading the mirror as fast as it can: once the mirror's
 * answers took [http] api_time_per_second of this second of the loop, 429
 * with Retry-After until the next second; /status counts them. */
START_TEST(plain_reads_past_their_time_share_are_shed)
{
    struct rig r;
    rig_start(&r, 2000, "poll.interval = 1h\nhttp.api_time_per_second = 1ms", NULL);
    wait_synced(&r);
    int ok = 0, shed = 0;
    for (int i = 0; i < 40; i++) {
        struct req q;
        long st = get(&r, &q, "/api/v1/acme/users?page=3", NULL, NULL);
        if (st == 200) {
            ok++;
        } else {
            ck_assert_int_eq(st, 429);
            ck_assert_str_eq(header(&q, "Retry-After"), "1");
            ck_assert_ptr_nonnull(strstr(q.body.data, "api_time_per_second"));
            shed++;
        }
        req_free(&q);
    }
    ck_assert_int_ge(ok, 1);
    ck_assert_msg(shed >= 1, "no read shed in 40 (%d answered)", ok);
    struct req st;
    ck_assert_int_eq(get(&r, &st, "/status", NULL, NULL), 200);
    cJSON *doc = json_of(&st);
    cJSON *ra = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "live"), "read_api");
    ck_assert_int_eq(cJSON_GetObjectItem(ra, "shed_for_time_share")->valueint, shed);
    cJSON_Delete(doc);
    req_free(&st);
    /* The next second has its share again. */
    tu_run_for(&r.te, 1100);
    struct req q;
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/users?page=3", NULL, NULL), 200);
    req_free(&q);
    rig_stop(&r);
}
END_TEST

START_TEST(destination_down_still_serves_the_mirror)
{
    struct rig r;
    webhook_rig_start(&r, "poll.interval = 1h\nretry.max_attempts = 1\n"
                          "breaker.failure_threshold = 2\nbreaker.open_timeout = 1h");
    struct fake_fault down = {.path = "/_hooks/*", .kind = FAKE_FAULT_STATUS, .status = 503};
    ck_assert_int_gt(fake_add_fault(r.env.fake, &down), 0);
    struct fake_record *before, *after;
    size_t n;
    change_while_down(&r, &before, &after, &n);
    ck_assert(tu_run_until(&r.te, dest_breaker_open, &r, 10000));
    mirror_still_served(&r, before, after);
    cJSON *doc = status_of(&r);
    cJSON *live = cJSON_GetObjectItem(doc, "live");
    cJSON *br = entry(cJSON_GetObjectItem(live, "breakers"), "name", "destination:acme");
    ck_assert_ptr_nonnull(br);
    ck_assert_str_eq(cJSON_GetObjectItem(br, "state")->valuestring, "open");
    ck_assert_str_eq(
        cJSON_GetObjectItem(entry(cJSON_GetObjectItem(live, "breakers"), "name", "vomo"), "state")
            ->valuestring,
        "closed"); /* VOMO itself is fine */
    cJSON *t = entry(cJSON_GetObjectItem(live, "tenants"), "tenant", "acme");
    ck_assert_str_eq(cJSON_GetObjectItem(t, "state")->valuestring, "ok"); /* a 503 does not pause */
    cJSON_Delete(doc);
    char *m = scrape(&r);
    ck_assert_double_eq(
        value_of(m, "vomo_sync_breaker_state{breaker=\"destination:acme\",state=\"open\"}"), 1);
    free(m);
    fake_records_free(before, n);
    fake_records_free(after, n);
    rig_stop(&r);
}
END_TEST

/* A receiver that answers 410 (misconfigured) pauses the destination: the
 * read API serves what it took, /status says destination_paused (the
 * daemon's live part and the tenant_state row). */
START_TEST(destination_paused_still_serves_the_mirror)
{
    struct rig r;
    webhook_rig_start(&r, "poll.interval = 1h\nretry.max_attempts = 1\nbreaker.open_timeout = 1h");
    struct fake_fault gone = {.path = "/_hooks/*", .kind = FAKE_FAULT_STATUS, .status = 410};
    ck_assert_int_gt(fake_add_fault(r.env.fake, &gone), 0);
    struct fake_record *before, *after;
    size_t n;
    change_while_down(&r, &before, &after, &n);
    ck_assert(tu_run_until(&r.te, dest_paused, &r, 10000));
    mirror_still_served(&r, before, after);
    cJSON *doc = status_of(&r);
    cJSON *t =
        entry(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "live"), "tenants"), "tenant", "acme");
    ck_assert_str_eq(cJSON_GetObjectItem(t, "state")->valuestring, "destination_paused");
    cJSON *row = entry(cJSON_GetObjectItem(doc, "tenants"), "tenant", "acme");
    ck_assert_ptr_nonnull(row);
    ck_assert_str_eq(cJSON_GetObjectItem(row, "status")->valuestring, "destination_paused");
    cJSON_Delete(doc);
    ck_assert_int_eq(tu_db_int(&r.env, "SELECT count(*) FROM dlq", NULL), 0); /* records wait */
    fake_records_free(before, n);
    fake_records_free(after, n);
    rig_stop(&r);
}
END_TEST

/* ---- the state database full (README, "When VOMO is down") ---- */

/* disk_low from an injected free-space figure: the real disk is never
 * filled, so the threshold is tested on the pure half of the section. */
START_TEST(disk_low_below_the_threshold)
{
    const double figures[] = {0, STATUSDOC_DISK_LOW_BYTES - 1, STATUSDOC_DISK_LOW_BYTES, 1e12};
    const bool low[] = {true, true, false, false};
    for (size_t i = 0; i < ARRAY_SIZE(figures); i++) {
        cJSON *o = cJSON_CreateObject();
        statusdoc_space(o, figures[i]);
        ck_assert_double_eq(cJSON_GetObjectItem(o, "disk_free_bytes")->valuedouble, figures[i]);
        ck_assert_msg(cJSON_IsTrue(cJSON_GetObjectItem(o, "disk_low")) == low[i], "%.0f bytes",
                      figures[i]);
        cJSON_Delete(o);
    }
}
END_TEST

static struct slot *groups_slot(struct rig *r)
{
    return &engine_tenant(r->te.e, "acme")->slots[RES_GROUPS];
}

struct finished_wait {
    struct slot *slot;
    int64_t n;
};

static bool finished_n(void *arg)
{
    struct finished_wait *w = arg;
    return w->slot->scans_finished >= w->n;
}

static bool complete_1(void *arg)
{
    return ((struct slot *)arg)->scans_complete >= 1;
}

static void page_limit(struct rig *r, const char *pages)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %s", pages);
    ck_assert_int_eq(sqlite3_exec(store_db(r->te.store), sql, NULL, NULL, NULL), SQLITE_OK);
}

/*
 * The database full, simulated with max_page_count (it cannot grow; the
 * file system itself is not filled, so disk_low stays false): the groups'
 * first scan, 300 records, cannot be saved and fails, nothing of it is
 * kept, and meanwhile the read API serves the users it has, answers 503
 * for the groups it never completed, and /status and /metrics answer.
 * Once there is room the next scan saves every group.
 */
START_TEST(state_database_full_still_serves_reads)
{
    struct rig r;
    tu_env_init(&r.env, NULL);
    tu_tenant(&r.env, "acme", 20, 300, 0);
    tu_fake_start(&r.env);
    struct fake_fault down = {.path = "/v1/groups*", .kind = FAKE_FAULT_STATUS, .status = 503};
    ck_assert_int_gt(fake_add_fault(r.env.fake, &down), 0);
    char *ini = tu_tenant_ini("acme", "resources = users, groups");
    tu_config(&r.env,
              "poll.interval = 1h\nretry.max_attempts = 1\nbreaker.failure_threshold = 1000", ini);
    free(ini);
    rig_open(&r);
    struct finished_wait w = {groups_slot(&r), 1};
    ck_assert(tu_run_until(&r.te, first_scans, r.te.e, 20000));
    ck_assert(tu_run_until(&r.te, finished_n, &w, 20000));
    ck_assert_int_eq(
        tu_db_int(&r.env, "SELECT count(*) FROM records WHERE resource = 'users'", NULL), 20);
    page_limit(&r, "1"); /* clamped to the pages it has: full */
    fake_clear_faults(r.env.fake);
    w.n = groups_slot(&r)->scans_finished + 1;
    int64_t failed = groups_slot(&r)->scans_failed;
    slot_schedule(groups_slot(&r), 0);
    ck_assert(tu_run_until(&r.te, finished_n, &w, 20000));
    ck_assert_int_eq(groups_slot(&r)->scans_failed, failed + 1);
    ck_assert_int_eq(groups_slot(&r)->scans_complete, 0);
    ck_assert_int_eq(
        tu_db_int(&r.env, "SELECT count(*) FROM records WHERE resource = 'groups'", NULL), 0);
    size_t n;
    struct fake_record *recs = users(&r, &n);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/acme/users/%s", recs[0].id);
    struct req q;
    ck_assert_int_eq(get(&r, &q, path, NULL, NULL), 200);
    ck_assert_msg(strstr(q.body.data, recs[0].payload), "%s", q.body.data);
    req_free(&q);
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/groups", NULL, NULL), 503);
    ck_assert(header(&q, "Retry-After")[0]);
    req_free(&q);
    cJSON *doc = status_of(&r);
    cJSON *st = cJSON_GetObjectItem(doc, "storage");
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(st, "disk_free_bytes")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(st, "disk_low"))); /* the real disk has room */
    cJSON_Delete(doc);
    char *m = scrape(&r);
    ck_assert_double_eq(
        value_of(m, "vomo_sync_scans_total{tenant=\"acme\",resource=\"groups\",kind=\"full\","
                    "status=\"failed\"}") +
            value_of(m, "vomo_sync_scans_total{tenant=\"acme\",resource=\"groups\","
                        "kind=\"incremental\",status=\"failed\"}"),
        (double)groups_slot(&r)->scans_failed);
    free(m);
    page_limit(&r, "1073741823"); /* room again */
    slot_schedule(groups_slot(&r), 0);
    ck_assert(tu_run_until(&r.te, complete_1, groups_slot(&r), 20000));
    ck_assert_int_eq(get(&r, &q, "/api/v1/acme/groups", NULL, NULL), 200);
    cJSON *j = json_of(&q);
    ck_assert_int_eq(meta_of(j, "total")->valueint, 300);
    cJSON_Delete(j);
    req_free(&q);
    fake_records_free(recs, n);
    rig_stop(&r);
}
END_TEST

static Suite *web_api_suite(void)
{
    Suite *s = suite_create("web_api");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fresh_answer_with_headers);
    tcase_add_test(tc, paging_in_id_order);
    tcase_add_test(tc, deleted_records);
    tcase_add_test(tc, stale_then_refused_past_max_stale);
    tcase_add_test(tc, bearer_token);
    tcase_add_test(tc, live_list_hastens_a_scan);
    tcase_add_test(tc, live_list_falls_back);
    tcase_add_test(tc, live_list_pending_past_live_timeout);
    tcase_add_test(tc, live_record_fresh);
    tcase_add_test(tc, live_record_falls_back);
    tcase_add_test(tc, live_record_passes_404_and_401);
    tcase_add_test(tc, requests_are_counted_on_a_scrape);
    tcase_add_test(tc, client_gone_cancels_its_read);
    tcase_add_test(tc, flood_of_live_reads_is_shed);
    tcase_add_test(tc, plain_reads_past_their_time_share_are_shed);
    tcase_add_test(tc, destination_down_still_serves_the_mirror);
    tcase_add_test(tc, destination_paused_still_serves_the_mirror);
    tcase_add_test(tc, disk_low_below_the_threshold);
    tcase_add_test(tc, state_database_full_still_serves_reads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(web_api_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
