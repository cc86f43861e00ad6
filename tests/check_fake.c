/*
 * check_fake.c - the fake VOMO server, in-process, driven with libcurl:
 * pages and filters, write semantics, auth, every fault kind, rate limits,
 * the request log, data changes, the webhook sink and the admin interface.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake.h"

struct resp {
    CURLcode cc;
    long status;
    struct buf body;
    struct buf head;
    int64_t ms;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    return buf_append(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* One request; the caller frees with resp_free. timeout_ms 0 = 5 s. */
static void req(struct fake *f, const char *method, const char *path, const char *token,
                const char *body, long timeout_ms, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->body, 0);
    buf_init(&r->head, 0);
    CURL *c = curl_easy_init();
    char url[512], auth[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)fake_port(f), path);
    struct curl_slist *h = NULL;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->head);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    int64_t t0 = clock_mono_ms();
    r->cc = curl_easy_perform(c);
    r->ms = clock_mono_ms() - t0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void resp_free(struct resp *r)
{
    buf_free(&r->body);
    buf_free(&r->head);
}

/* The value of a response header (copied into out), or NULL. */
static const char *header(struct resp *r, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = r->head.data; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - p);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            snprintf(out, n, "%.*s", (int)vl, v);
            return out;
        }
        p = eol ? eol + 1 : p + len;
    }
    return NULL;
}

static struct fake *start(struct fake_opts *o, int users, int groups, int projects)
{
    struct fake_opts d;
    if (!o) {
        fake_opts_default(&d);
        o = &d;
    }
    struct fake *f = fake_new(o);
    ck_assert_int_eq(fake_add_tenant(f, "acme", "tok-acme", users, groups, projects), 0);
    ck_assert_int_eq(fake_add_tenant(f, "beta", "tok-beta", 5, 2, 2), 0);
    ck_assert_int_eq(fake_start(f), 0);
    ck_assert_uint_ne(fake_port(f), 0);
    return f;
}

static cJSON *get_json(struct fake *f, const char *path, const char *token, long *status)
{
    struct resp r;
    req(f, "GET", path, token, NULL, 0, &r);
    ck_assert_int_eq(r.cc, CURLE_OK);
    *status = r.status;
    cJSON *j = cJSON_Parse(r.body.data ? r.body.data : "");
    resp_free(&r);
    return j;
}

static int meta_int(const cJSON *j, const char *key)
{
    const cJSON *m = cJSON_GetObjectItem(j, "meta");
    const cJSON *v = cJSON_GetObjectItem(m, key);
    ck_assert_msg(cJSON_IsNumber(v), "meta.%s missing", key);
    return v->valueint;
}

static int data_count(const cJSON *j)
{
    const cJSON *d = cJSON_GetObjectItem(j, "data");
    ck_assert(cJSON_IsArray(d));
    return cJSON_GetArraySize(d);
}

START_TEST(test_pagination)
{
    struct fake *f = start(NULL, 40, 3, 3);
    long st;
    int64_t last_id = 0;
    int seen = 0;
    for (int page = 1; page <= 3; page++) {
        char path[64];
        snprintf(path, sizeof(path), "/v1/users?page=%d", page);
        cJSON *j = get_json(f, path, "tok-acme", &st);
        ck_assert_int_eq(st, 200);
        ck_assert_int_eq(meta_int(j, "total"), 40);
        ck_assert_int_eq(meta_int(j, "last_page"), 3);
        ck_assert_int_eq(meta_int(j, "per_page"), 15);
        ck_assert_int_eq(meta_int(j, "current_page"), page);
        ck_assert_int_eq(meta_int(j, "from"), (page - 1) * 15 + 1);
        ck_assert_int_eq(data_count(j), page < 3 ? 15 : 10);
        const cJSON *next = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "links"), "next");
        ck_assert(page < 3 ? cJSON_IsString(next) : cJSON_IsNull(next));
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "data"))
        {
            const cJSON *id = cJSON_GetObjectItem(it, "id");
            ck_assert(cJSON_IsNumber(id));
            ck_assert_int_gt((int64_t)id->valuedouble, last_id);
            last_id = (int64_t)id->valuedouble;
            const cJSON *u = cJSON_GetObjectItem(it, "updated_at");
            ck_assert(cJSON_IsString(u));
            ck_assert_int_eq(strlen(u->valuestring), 25);
            ck_assert_str_eq(u->valuestring + 19, "+00:00");
            seen++;
        }
        cJSON_Delete(j);
    }
    ck_assert_int_eq(seen, 40);
    /* Past the last page: empty data, from/to null. */
    cJSON *j = get_json(f, "/v1/users?page=9", "tok-acme", &st);
    ck_assert_int_eq(data_count(j), 0);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "meta"), "from")));
    cJSON_Delete(j);
    /* Date header on every answer. */
    struct resp r;
    char v[64];
    req(f, "GET", "/v1/projects", "tok-acme", NULL, 0, &r);
    ck_assert_ptr_nonnull(header(&r, "Date", v, sizeof(v)));
    int64_t ms;
    ck_assert_int_eq(ts_parse_http_date(v, &ms), 0);
    resp_free(&r);
    fake_free(f);
}
END_TEST

/* Counts records of a snapshot updated at or after `ts` (normalised). */
static int count_since(struct fake_record *rec, size_t n, const char *ts)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(rec[i].updated_at, ts) >= 0;
    return k;
}

START_TEST(test_updated_after_inclusive)
{
    struct fake *f = start(NULL, 60, 3, 3);
    struct fake_record *rec;
    size_t n;
    ck_assert_int_eq(fake_records(f, "acme", "users", &rec, &n), 0);
    ck_assert_uint_eq(n, 60);
    /* The median updated_at: the boundary record must come back. */
    char mid[TS_LEN];
    snprintf(mid, sizeof(mid), "%s", rec[17].updated_at);
    int want = count_since(rec, n, mid);
    int64_t ms;
    ck_assert_int_eq(ts_parse(mid, &ms), 0);
    char iso[64], path[160];
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S%%2B00:00", &tm);
    const char *spellings[] = {iso, mid};
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof(path), "/v1/users?updated_after=%s&page=1", spellings[s]);
        long st;
        cJSON *j = get_json(f, path, "tok-acme", &st);
        ck_assert_int_eq(st, 200);
        ck_assert_int_eq(meta_int(j, "total"), want);
        bool found = false;
        const cJSON *it;
        for (int page = 1; page <= meta_int(j, "last_page"); page++) {
            if (page > 1) {
                cJSON_Delete(j);
                snprintf(path, sizeof(path), "/v1/users?updated_after=%s&page=%d", spellings[s],
                         page);
                j = get_json(f, path, "tok-acme", &st);
            }
            cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "data"))
            {
                char norm[TS_LEN];
                ck_assert_int_eq(
                    ts_normalise(cJSON_GetObjectItem(it, "updated_at")->valuestring, norm), 0);
                ck_assert_str_ge(norm, mid);
                found |= (int64_t)cJSON_GetObjectItem(it, "id")->valuedouble ==
                         strtoll(rec[17].id, NULL, 10);
            }
        }
        ck_assert(found);
        cJSON_Delete(j);
    }
    /* One second later the boundary record is out; a bad date is a 422. */
    ts_format(ms + 1000, mid);
    snprintf(path, sizeof(path), "/v1/users?updated_after=%s", mid);
    long st;
    cJSON *j = get_json(f, path, "tok-acme", &st);
    ck_assert_int_eq(meta_int(j, "total"), count_since(rec, n, mid));
    cJSON_Delete(j);
    j = get_json(f, "/v1/users?updated_after=2025-01-01T00:00:00+00:00", "tok-acme", &st);
    ck_assert_int_eq(st, 422); /* a raw '+' arrives as a space */
    cJSON_Delete(j);
    fake_records_free(rec, n);
    fake_free(f);
}
END_TEST

START_TEST(test_groups_updated_after_option)
{
    long st;
    struct fake *f = start(NULL, 5, 7, 3);
    cJSON *j = get_json(f, "/v1/groups?updated_after=2099-01-01T00:00:00Z", "tok-acme", &st);
    ck_assert_int_eq(meta_int(j, "total"), 0);
    cJSON_Delete(j);
    fake_free(f);
    struct fake_opts o;
    fake_opts_default(&o);
    o.groups_ignore_updated_after = true;
    f = start(&o, 5, 7, 3);
    j = get_json(f, "/v1/groups?updated_after=2099-01-01T00:00:00Z", "tok-acme", &st);
    ck_assert_int_eq(meta_int(j, "total"), 7);
    cJSON_Delete(j);
    j = get_json(f, "/v1/projects?updated_after=2099-01-01T00:00:00Z", "tok-acme", &st);
    ck_assert_int_eq(meta_int(j, "total"), 0);
    cJSON_Delete(j);
    fake_free(f);
}
END_TEST

START_TEST(test_filters_and_reference)
{
    struct fake *f = start(NULL, 30, 4, 20);
    long st;
    cJSON *j = get_json(f, "/v1/projects?active=1&page=1", "tok-acme", &st);
    int active = meta_int(j, "total");
    ck_assert_int_gt(active, 0);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "data"))
        ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(it, "active")));
    cJSON_Delete(j);
    j = get_json(f, "/v1/projects?active=0", "tok-acme", &st);
    ck_assert_int_eq(meta_int(j, "total") + active, 20);
    cJSON_Delete(j);
    struct fake_record *rec;
    size_t n;
    ck_assert_int_eq(fake_records(f, "acme", "users", &rec, &n), 0);
    char path[128];
    snprintf(path, sizeof(path), "/v1/users?email_like=.%s@", rec[3].id);
    fake_records_free(rec, n);
    j = get_json(f, path, "tok-acme", &st);
    ck_assert_int_eq(meta_int(j, "total"), 1);
    cJSON_Delete(j);
    j = get_json(f, "/v1/users?active=1", "tok-acme", &st); /* not a users filter */
    ck_assert_int_eq(meta_int(j, "total"), 30);
    cJSON_Delete(j);
    const char *ref[] = {"campaigns", "organizations", "forms", "certificates"};
    for (size_t i = 0; i < ARRAY_SIZE(ref); i++) {
        snprintf(path, sizeof(path), "/v1/%s", ref[i]);
        j = get_json(f, path, "tok-acme", &st);
        ck_assert_int_eq(st, 200);
        ck_assert_int_eq(meta_int(j, "total"), 3);
        cJSON_Delete(j);
        struct resp r;
        req(f, "POST", path, "tok-acme", "{\"name\":\"x\"}", 0, &r);
        ck_assert_int_eq(r.status, 405);
        resp_free(&r);
    }
    /* Members of a group: a page of users. */
    ck_assert_int_eq(fake_records(f, "acme", "groups", &rec, &n), 0);
    snprintf(path, sizeof(path), "/v1/groups/%s/members", rec[0].id);
    struct resp r;
    req(f, "PUT", path, "tok-acme", "{\"members\":[]}", 0, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    j = get_json(f, path, "tok-acme", &st);
    ck_assert_int_eq(meta_int(j, "total"), 0);
    cJSON_Delete(j);
    fake_records_free(rec, n);
    fake_free(f);
}
END_TEST

static char *ids_of(const cJSON *j)
{
    struct buf b;
    buf_init(&b, 0);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "data"))
    {
        const cJSON *id = cJSON_GetObjectItem(it, "id");
        ck_assert_int_eq(buf_printf(&b, "%s,", cJSON_IsString(id) ? id->valuestring : "n"), 0);
    }
    return buf_steal(&b);
}

START_TEST(test_shuffle_and_string_ids)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.shuffle = true;
    o.string_ids = true;
    o.page_size = 50;
    struct fake *f = start(&o, 50, 3, 3);
    long st;
    cJSON *a = get_json(f, "/v1/users", "tok-acme", &st);
    cJSON *b = get_json(f, "/v1/users", "tok-acme", &st);
    char *ia = ids_of(a), *ib = ids_of(b);
    ck_assert_str_ne(ia, ib); /* 50! orders: equal by chance is impossible in practice */
    /* Same set: sort the id lists' characters is not enough; compare as sets. */
    ck_assert_int_eq(data_count(a), 50);
    for (char *p = ia, *comma; (comma = strchr(p, ',')); p = comma + 1) {
        char needle[40];
        snprintf(needle, sizeof(needle), ",%.*s,", (int)(comma - p), p);
        char *hay = xasprintf(",%s", ib);
        ck_assert_ptr_nonnull(strstr(hay, needle));
        free(hay);
    }
    ck_assert_ptr_null(strchr(ia, 'n')); /* every id was a string */
    free(ia);
    free(ib);
    cJSON_Delete(a);
    cJSON_Delete(b);
    fake_free(f);
}
END_TEST

START_TEST(test_next_styles)
{
    for (int style = 0; style < 3; style++) {
        struct fake_opts o;
        fake_opts_default(&o);
        o.next_style = style;
        struct fake *f = start(&o, 3, 1, 1);
        long st;
        cJSON *j = get_json(f, "/v1/users", "tok-acme", &st);
        const cJSON *next = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "links"), "next");
        if (style == FAKE_NEXT_NULL)
            ck_assert(cJSON_IsNull(next));
        else if (style == FAKE_NEXT_STRING)
            ck_assert_str_eq(cJSON_GetStringValue(next), "null");
        else
            ck_assert_ptr_null(next);
        cJSON_Delete(j);
        fake_free(f);
    }
}
END_TEST

static int64_t data_id(const char *body)
{
    cJSON *j = cJSON_Parse(body);
    const cJSON *id = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "id");
    ck_assert(cJSON_IsNumber(id));
    int64_t v = (int64_t)id->valuedouble;
    cJSON_Delete(j);
    return v;
}

START_TEST(test_writes)
{
    struct fake *f = start(NULL, 5, 2, 2);
    struct resp r;
    req(f, "POST", "/v1/users", "tok-acme", "{\"email\":\"New.Person@Example.org\"}", 0, &r);
    ck_assert_int_eq(r.status, 201);
    int64_t id = data_id(r.body.data);
    resp_free(&r);
    req(f, "POST", "/v1/users", "tok-acme",
        "{\"email\":\"new.person@example.ORG\",\"first_name\":\"Neu\"}", 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(data_id(r.body.data), id);
    ck_assert_ptr_nonnull(strstr(r.body.data, "\"first_name\":\"Neu\""));
    resp_free(&r);
    ck_assert_int_eq(fake_count(f, "acme", "users"), 6);
    /* POST /groups creates every time, answering 200. */
    req(f, "POST", "/v1/groups", "tok-acme", "{\"name\":\"Helpers\"}", 0, &r);
    ck_assert_int_eq(r.status, 200);
    int64_t g1 = data_id(r.body.data);
    resp_free(&r);
    req(f, "POST", "/v1/groups", "tok-acme", "{\"name\":\"Helpers\"}", 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_ne(data_id(r.body.data), g1);
    resp_free(&r);
    ck_assert_int_eq(fake_count(f, "acme", "groups"), 4);
    /* PUT members, then DELETE twice. */
    char path[64];
    snprintf(path, sizeof(path), "/v1/groups/%lld/members", (long long)g1);
    req(f, "PUT", path, "tok-acme", "{\"members\":[1,2,3]}", 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body.data, "\"members_count\":3"));
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/groups/%lld", (long long)g1);
    req(f, "DELETE", path, "tok-acme", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    req(f, "DELETE", path, "tok-acme", NULL, 0, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(r.body.data, "{\"message\":\"Not found.\"}");
    resp_free(&r);
    req(f, "GET", path, "tok-acme", NULL, 0, &r);
    ck_assert_int_eq(r.status, 404);
    resp_free(&r);
    /* 422 with Laravel's body. */
    req(f, "POST", "/v1/users", "tok-acme", "{\"first_name\":\"x\"}", 0, &r);
    ck_assert_int_eq(r.status, 422);
    ck_assert_str_eq(r.body.data, "{\"message\":\"The given data was invalid.\",\"errors\":"
                                  "{\"email\":[\"The email field is required.\"]}}");
    resp_free(&r);
    fake_free(f);
}
END_TEST

START_TEST(test_project_put_bumps)
{
    struct fake *f = start(NULL, 2, 2, 3);
    struct fake_record *rec;
    size_t n;
    ck_assert_int_eq(fake_records(f, "acme", "projects", &rec, &n), 0);
    char path[64], before[TS_LEN];
    snprintf(path, sizeof(path), "/v1/projects/%s", rec[0].id);
    snprintf(before, sizeof(before), "%s", rec[0].updated_at);
    fake_records_free(rec, n);
    struct resp r;
    req(f, "PUT", path, "tok-acme", "{\"name\":\"Renamed\",\"active\":true,\"published\":false}", 0,
        &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    ck_assert_int_eq(fake_records(f, "acme", "projects", &rec, &n), 0);
    ck_assert_str_gt(rec[0].updated_at, before);
    ck_assert_ptr_nonnull(strstr(rec[0].payload, "\"name\":\"Renamed\",\"active\":true"));
    fake_records_free(rec, n);
    fake_free(f);
}
END_TEST

START_TEST(test_auth)
{
    struct fake *f = start(NULL, 3, 1, 1);
    struct resp r;
    req(f, "GET", "/v1/users", "nope", NULL, 0, &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_str_eq(r.body.data, "{\"message\":\"Unauthenticated.\"}");
    resp_free(&r);
    req(f, "GET", "/v1/users", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 401);
    resp_free(&r);
    ck_assert_int_eq(fake_revoke(f, "acme", true), 0);
    req(f, "GET", "/v1/users", "tok-acme", NULL, 0, &r);
    ck_assert_int_eq(r.status, 401);
    resp_free(&r);
    req(f, "GET", "/v1/users", "tok-beta", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    ck_assert_int_eq(fake_revoke(f, "acme", false), 0);
    req(f, "GET", "/v1/users", "tok-acme", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    fake_free(f);
}
END_TEST

static int add(struct fake *f, struct fake_fault *ft)
{
    int id = fake_add_fault(f, ft);
    ck_assert_int_gt(id, 0);
    return id;
}

START_TEST(test_fault_status_delay_malformed)
{
    struct fake *f = start(NULL, 3, 1, 1);
    struct fake_fault ft = {.method = "GET",
                            .path = "/v1/users*",
                            .kind = FAKE_FAULT_STATUS,
                            .status = 503,
                            .retry_after = "7",
                            .count = 1};
    int id = add(f, &ft);
    struct resp r;
    char v[32];
    req(f, "GET", "/v1/users?page=1", "tok-acme", NULL, 0, &r);
    ck_assert_int_eq(r.status, 503);
    ck_assert_str_eq(header(&r, "Retry-After", v, sizeof(v)), "7");
    resp_free(&r);
    ck_assert_int_eq(fake_fault_hits(f, id), 1);
    req(f, "GET", "/v1/users", "tok-acme", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    /* Other paths and tenants are untouched by a tenant-bound rule. */
    struct fake_fault d = {
        .path = "/v1/groups", .tenant = "acme", .kind = FAKE_FAULT_DELAY, .delay_ms = 150};
    add(f, &d);
    req(f, "GET", "/v1/groups", "tok-acme", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_ge(r.ms, 140);
    resp_free(&r);
    req(f, "GET", "/v1/groups", "tok-beta", NULL, 0, &r);
    ck_assert_int_lt(r.ms, 140);
    resp_free(&r);
    struct fake_fault m = {.path = "/v1/projects", .kind = FAKE_FAULT_MALFORMED};
    add(f, &m);
    req(f, "GET", "/v1/projects", "tok-acme", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(r.body.data);
    ck_assert_ptr_null(j);
    resp_free(&r);
    fake_free(f);
}
END_TEST

START_TEST(test_fault_reset_hang_lose)
{
    struct fake *f = start(NULL, 3, 1, 1);
    struct fake_fault rs = {.path = "/v1/users", .kind = FAKE_FAULT_RESET, .count = 1};
    add(f, &rs);
    struct resp r;
    req(f, "GET", "/v1/users", "tok-acme", NULL, 0, &r);
    ck_assert_int_ne(r.cc, CURLE_OK);
    ck_assert_int_ne(r.cc, CURLE_OPERATION_TIMEDOUT);
    resp_free(&r);
    struct fake_fault hg = {.path = "/v1/groups", .kind = FAKE_FAULT_HANG, .count = 1};
    add(f, &hg);
    req(f, "GET", "/v1/groups", "tok-acme", NULL, 150, &r);
    ck_assert_int_eq(r.cc, CURLE_OPERATION_TIMEDOUT);
    resp_free(&r);
    /* Lose: the user is created, the client sees no answer. */
    struct fake_fault ls = {
        .method = "POST", .path = "/v1/users", .kind = FAKE_FAULT_LOSE, .count = 1};
    add(f, &ls);
    req(f, "POST", "/v1/users", "tok-acme", "{\"email\":\"lost@example.org\"}", 0, &r);
    ck_assert_int_ne(r.cc, CURLE_OK);
    resp_free(&r);
    ck_assert_int_eq(fake_count(f, "acme", "users"), 4);
    req(f, "POST", "/v1/users", "tok-acme", "{\"email\":\"lost@example.org\"}", 0, &r);
    ck_assert_int_eq(r.status, 200); /* the retry finds it: an update */
    resp_free(&r);
    struct fake_request *q;
    size_t n;
    ck_assert_int_eq(fake_requests(f, &q, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(q[0].fault, "reset");
    ck_assert_str_eq(q[1].fault, "hang");
    ck_assert_str_eq(q[2].fault, "lose");
    ck_assert_int_eq(q[2].status, 201);
    ck_assert_str_eq(q[3].fault, "");
    fake_requests_free(q, n);
    fake_free(f); /* releases the hung connection */
}
END_TEST

START_TEST(test_fault_count_vs_probability)
{
    struct fake *f = start(NULL, 3, 1, 1);
    struct fake_fault c2 = {
        .path = "/v1/users", .kind = FAKE_FAULT_STATUS, .status = 500, .count = 2};
    add(f, &c2);
    struct resp r;
    long got[4];
    for (int i = 0; i < 4; i++) {
        req(f, "GET", "/v1/users", "tok-acme", NULL, 0, &r);
        got[i] = r.status;
        resp_free(&r);
    }
    ck_assert_int_eq(got[0], 500);
    ck_assert_int_eq(got[1], 500);
    ck_assert_int_eq(got[2], 200);
    ck_assert_int_eq(got[3], 200);
    struct fake_fault p = {
        .path = "/v1/groups", .kind = FAKE_FAULT_STATUS, .status = 502, .probability = 0.5};
    int id = add(f, &p);
    int bad = 0;
    for (int i = 0; i < 100; i++) {
        req(f, "GET", "/v1/groups", "tok-acme", NULL, 0, &r);
        bad += r.status == 502;
        resp_free(&r);
    }
    ck_assert_int_gt(bad, 20);
    ck_assert_int_lt(bad, 80);
    ck_assert_int_eq(fake_fault_hits(f, id), bad);
    /* Both: at most 3 applications, each with probability 0.5. */
    struct fake_fault both = {.path = "/v1/projects",
                              .kind = FAKE_FAULT_STATUS,
                              .status = 503,
                              .probability = 0.5,
                              .count = 3};
    id = add(f, &both);
    bad = 0;
    for (int i = 0; i < 40; i++) {
        req(f, "GET", "/v1/projects", "tok-acme", NULL, 0, &r);
        bad += r.status == 503;
        resp_free(&r);
    }
    ck_assert_int_eq(bad, 3);
    fake_clear_faults(f);
    req(f, "GET", "/v1/groups", "tok-acme", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    fake_free(f);
}
END_TEST

START_TEST(test_rate_limit)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.rate_limit_rps = 3;
    struct fake *f = start(&o, 3, 1, 1);
    /* Start early in a second so that five requests share one window. */
    while (clock_wall_ms() % 1000 > 300)
        usleep(1000);
    struct resp r;
    char v[32];
    long status[5];
    int remaining[5];
    for (int i = 0; i < 5; i++) {
        req(f, "GET", "/v1/users", "tok-acme", NULL, 0, &r);
        status[i] = r.status;
        ck_assert_str_eq(header(&r, "X-RateLimit-Limit", v, sizeof(v)), "3");
        remaining[i] = (int)strtol(header(&r, "X-RateLimit-Remaining", v, sizeof(v)), NULL, 10);
        if (r.status == 429)
            ck_assert_str_eq(header(&r, "Retry-After", v, sizeof(v)), "1");
        resp_free(&r);
    }
    ck_assert_int_eq(status[0], 200);
    ck_assert_int_eq(remaining[0], 2);
    ck_assert_int_eq(status[2], 200);
    ck_assert_int_eq(remaining[2], 0);
    ck_assert_int_eq(status[3], 429);
    ck_assert_int_eq(status[4], 429);
    /* Another token has its own budget. */
    req(f, "GET", "/v1/users", "tok-beta", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    fake_free(f);
}
END_TEST

START_TEST(test_latency_does_not_block)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 120;
    struct fake *f = start(&o, 3, 1, 1);
    CURLM *m = curl_multi_init();
    CURL *e[6];
    char url[128];
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer tok-acme");
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/users", (unsigned)fake_port(f));
    struct buf sink;
    buf_init(&sink, 0);
    for (int i = 0; i < 6; i++) {
        e[i] = curl_easy_init();
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e[i], CURLOPT_WRITEDATA, &sink);
        curl_multi_add_handle(m, e[i]);
    }
    int64_t t0 = clock_mono_ms();
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 50, NULL);
    }
    int64_t elapsed = clock_mono_ms() - t0;
    for (int i = 0; i < 6; i++) {
        long st = 0;
        curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &st);
        ck_assert_int_eq(st, 200);
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(h);
    buf_free(&sink);
    ck_assert_int_ge(elapsed, 115);
    ck_assert_int_lt(elapsed, 330); /* 6 x 120 ms one after another would be 720 */
    fake_free(f);
}
END_TEST

START_TEST(test_request_log)
{
    struct fake *f = start(NULL, 20, 1, 1);
    struct resp r;
    int64_t t0 = clock_wall_ms();
    req(f, "GET", "/v1/users?page=2&updated_after=2020-01-01T00:00:00Z", "tok-acme", NULL, 0, &r);
    resp_free(&r);
    req(f, "POST", "/v1/groups", "tok-beta", "{\"name\":\"G\"}", 0, &r);
    resp_free(&r);
    req(f, "GET", "/v1/users", "bad", NULL, 0, &r);
    resp_free(&r);
    struct fake_request *q;
    size_t n;
    ck_assert_int_eq(fake_requests(f, &q, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_ge(q[0].time_ms, t0);
    ck_assert_str_eq(q[0].method, "GET");
    ck_assert_str_eq(q[0].path, "/v1/users");
    ck_assert_ptr_nonnull(strstr(q[0].query, "page=2"));
    ck_assert_ptr_nonnull(strstr(q[0].query, "updated_after=2020-01-01T00:00:00Z"));
    ck_assert_str_eq(q[0].tenant, "acme");
    ck_assert_int_eq(q[0].status, 200);
    ck_assert_str_eq(q[0].body, "");
    ck_assert_str_eq(q[1].method, "POST");
    ck_assert_str_eq(q[1].tenant, "beta");
    ck_assert_str_eq(q[1].body, "{\"name\":\"G\"}");
    ck_assert_int_eq(q[1].status, 200);
    ck_assert_str_eq(q[2].tenant, "");
    ck_assert_int_eq(q[2].status, 401);
    fake_requests_free(q, n);
    fake_requests_clear(f);
    ck_assert_int_eq(fake_requests(f, &q, &n), 0);
    ck_assert_uint_eq(n, 0);
    fake_requests_free(q, n);
    fake_free(f);
}
END_TEST

START_TEST(test_mutate_delete_corrupt)
{
    struct fake *f = start(NULL, 30, 3, 3);
    int64_t now = clock_wall_ms() / 1000 * 1000;
    ck_assert_int_eq(fake_mutate(f, "acme", "users", 4), 4);
    char ts[TS_LEN], path[128];
    ts_format(now, ts);
    snprintf(path, sizeof(path), "/v1/users?updated_after=%s", ts);
    long st;
    cJSON *j = get_json(f, path, "tok-acme", &st);
    ck_assert_int_eq(meta_int(j, "total"), 4);
    cJSON_Delete(j);
    ck_assert_int_eq(fake_mutate(f, "nope", "users", 1), -ENOENT);
    struct fake_record *rec;
    size_t n;
    ck_assert_int_eq(fake_records(f, "acme", "users", &rec, &n), 0);
    char victim[32], other[32];
    snprintf(victim, sizeof(victim), "%s", rec[5].id);
    fake_records_free(rec, n);
    ck_assert_int_eq(fake_delete_id(f, "acme", "users", victim), 0);
    ck_assert_int_eq(fake_delete_id(f, "acme", "users", victim), -ENOENT);
    ck_assert_int_eq(fake_count(f, "acme", "users"), 29);
    snprintf(path, sizeof(path), "/v1/users/%s", victim);
    j = get_json(f, path, "tok-acme", &st);
    ck_assert_int_eq(st, 404);
    cJSON_Delete(j);
    ck_assert_int_eq(fake_delete_random(f, "acme", "users", 2), 2);
    ck_assert_int_eq(fake_count(f, "acme", "users"), 27);
    /* Chosen after the random deletions, which could have taken it. */
    ck_assert_int_eq(fake_records(f, "acme", "users", &rec, &n), 0);
    snprintf(other, sizeof(other), "%s", rec[6].id);
    fake_records_free(rec, n);
    /* Corruptions show up in list results. */
    int kinds[] = {FAKE_CORRUPT_NO_UPDATED_AT, FAKE_CORRUPT_NO_ID, FAKE_CORRUPT_BAD_UPDATED_AT,
                   FAKE_CORRUPT_ID_OBJECT};
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        ck_assert_int_eq(fake_corrupt(f, "acme", "users", other, kinds[k]), 0);
        ck_assert_int_eq(fake_records(f, "acme", "users", &rec, &n), 0);
        const char *payload = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(rec[i].id, other) == 0)
                payload = rec[i].payload;
        ck_assert_ptr_nonnull(payload);
        cJSON *p = cJSON_Parse(payload);
        ck_assert_ptr_nonnull(p); /* malformed as a record, still valid JSON */
        const cJSON *id = cJSON_GetObjectItem(p, "id");
        const cJSON *up = cJSON_GetObjectItem(p, "updated_at");
        if (kinds[k] == FAKE_CORRUPT_NO_UPDATED_AT)
            ck_assert_ptr_null(up);
        else if (kinds[k] == FAKE_CORRUPT_NO_ID)
            ck_assert_ptr_null(id);
        else if (kinds[k] == FAKE_CORRUPT_BAD_UPDATED_AT)
            ck_assert_int_ne(ts_parse(up->valuestring, &now), 0);
        else
            ck_assert(cJSON_IsObject(id));
        cJSON_Delete(p);
        fake_records_free(rec, n);
    }
    j = get_json(f, "/v1/users?page=1", "tok-acme", &st);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(st, 200);
    cJSON_Delete(j);
    fake_free(f);
}
END_TEST

static void sign(const char *secret, const char *body, char *out, size_t n);

START_TEST(test_webhook_sink)
{
    struct fake *f = start(NULL, 1, 1, 1);
    ck_assert_int_eq(fake_set_webhook_secret(f, "acme", "s3cret"), 0);
    const char *b1 = "{\"tenant\":\"acme\",\"resource\":\"users\",\"id\":\"17\"}";
    const char *b2 = "{\"tenant\":\"acme\",\"resource\":\"users\",\"id\":\"18\"}";
    char sig[128], hdrs[2][200];
    sign("s3cret", b1, sig, sizeof(sig));
    struct fake_fault rej = {.path = "/_hooks/*",
                             .body_contains = "\"id\":\"18\"",
                             .kind = FAKE_FAULT_STATUS,
                             .status = 422};
    add(f, &rej);
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/_hooks/acme", (unsigned)fake_port(f));
    long st[3];
    for (int i = 0; i < 3; i++) {
        const char *body = i == 2 ? b2 : b1;
        char bodysig[128];
        sign(i == 1 ? "wrong" : "s3cret", body, bodysig, sizeof(bodysig));
        snprintf(hdrs[0], sizeof(hdrs[0]), "X-Vomo-Sync-Signature: %s", bodysig);
        snprintf(hdrs[1], sizeof(hdrs[1]), "Idempotency-Key: acme:users:%d:k", i);
        struct curl_slist *h = curl_slist_append(NULL, hdrs[0]);
        h = curl_slist_append(h, hdrs[1]);
        h = curl_slist_append(h, "Content-Type: application/json");
        struct buf sink;
        buf_init(&sink, 0);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st[i]);
        curl_slist_free_all(h);
        buf_free(&sink);
    }
    curl_easy_cleanup(c);
    ck_assert_int_eq(st[0], 200);
    ck_assert_int_eq(st[1], 401);
    ck_assert_int_eq(st[2], 422);
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(fake_deliveries(f, &d, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(d[0].tenant, "acme");
    ck_assert_str_eq(d[0].signature, sig);
    ck_assert_str_eq(d[0].idempotency_key, "acme:users:0:k");
    ck_assert_str_eq(d[0].body, b1);
    ck_assert(d[0].signature_ok);
    ck_assert_int_eq(d[0].status, 200);
    ck_assert(!d[1].signature_ok);
    ck_assert_int_eq(d[1].status, 401);
    ck_assert(d[2].signature_ok);
    ck_assert_int_eq(d[2].status, 422);
    fake_deliveries_free(d, n);
    fake_free(f);
}
END_TEST

#include <openssl/evp.h>
#include <openssl/hmac.h>

static void sign(const char *secret, const char *body, char *out, size_t n)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body), mac,
         &len);
    size_t k = (size_t)snprintf(out, n, "sha256=");
    for (unsigned i = 0; i < len && k + 2 < n; i++, k += 2)
        snprintf(out + k, n - k, "%02x", mac[i]);
}

START_TEST(test_admin_http)
{
    struct fake *f = start(NULL, 12, 2, 2);
    struct resp r;
    req(f, "POST", "/_admin/faults", NULL,
        "{\"kind\":\"status\",\"status\":503,\"method\":\"GET\",\"path\":\"/v1/groups*\","
        "\"count\":1,\"retry_after\":2}",
        0, &r);
    ck_assert_int_eq(r.status, 201);
    resp_free(&r);
    req(f, "GET", "/v1/groups?page=1", "tok-acme", NULL, 0, &r);
    ck_assert_int_eq(r.status, 503);
    char v[16];
    ck_assert_str_eq(header(&r, "Retry-After", v, sizeof(v)), "2");
    resp_free(&r);
    req(f, "POST", "/_admin/mutate", NULL, "{\"tenant\":\"acme\",\"resource\":\"users\",\"n\":3}",
        0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body.data, "{\"ok\":true,\"count\":3}");
    resp_free(&r);
    req(f, "GET", "/_admin/requests", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(r.body.data);
    ck_assert_int_eq(cJSON_GetArraySize(j), 1); /* admin calls are not logged */
    const cJSON *e = cJSON_GetArrayItem(j, 0);
    ck_assert_str_eq(cJSON_GetObjectItem(e, "fault")->valuestring, "status");
    ck_assert_int_eq(cJSON_GetObjectItem(e, "status")->valueint, 503);
    ck_assert_str_eq(cJSON_GetObjectItem(e, "query")->valuestring, "page=1");
    cJSON_Delete(j);
    resp_free(&r);
    req(f, "GET", "/_admin/dump?tenant=acme", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    j = cJSON_Parse(r.body.data);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "users")), 12);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "groups")), 2);
    cJSON_Delete(j);
    resp_free(&r);
    req(f, "POST", "/_admin/revoke", NULL, "{\"tenant\":\"beta\"}", 0, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    req(f, "GET", "/v1/users", "tok-beta", NULL, 0, &r);
    ck_assert_int_eq(r.status, 401);
    resp_free(&r);
    req(f, "POST", "/_admin/corrupt", NULL,
        "{\"tenant\":\"acme\",\"resource\":\"users\",\"id\":99999,\"kind\":\"id_object\"}", 0, &r);
    ck_assert_int_eq(r.status, 404);
    resp_free(&r);
    req(f, "DELETE", "/_admin/requests", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    struct fake_request *q;
    size_t n;
    ck_assert_int_eq(fake_requests(f, &q, &n), 0);
    ck_assert_uint_eq(n, 0);
    fake_requests_free(q, n);
    fake_free(f);
}
END_TEST

START_TEST(test_scenario_file)
{
    char path[] = "/tmp/check_fake_scenario_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "# a scenario\n"
                       "seed 7\npage-size 5\nnext-style string\n"
                       "tenant acme tok-a users=11 groups=2 projects=1\n"
                       "webhook-secret acme x\n"
                       "fault method=GET path=/v1/projects* kind=status status=500 count=1\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct fake_opts o;
    fake_opts_default(&o);
    struct fake_scenario *s;
    ck_assert_int_eq(fake_scenario_load(path, &o, &s), 0);
    unlink(path);
    ck_assert_int_eq(o.seed, 7);
    ck_assert_int_eq(o.page_size, 5);
    ck_assert_int_eq(o.next_style, FAKE_NEXT_STRING);
    struct fake *f = fake_new(&o);
    ck_assert_int_eq(fake_scenario_apply(f, s), 0);
    fake_scenario_free(s);
    ck_assert_int_eq(fake_start(f), 0);
    long st;
    cJSON *j = get_json(f, "/v1/users", "tok-a", &st);
    ck_assert_int_eq(meta_int(j, "last_page"), 3);
    cJSON_Delete(j);
    j = get_json(f, "/v1/projects", "tok-a", &st);
    ck_assert_int_eq(st, 500);
    cJSON_Delete(j);
    fake_free(f);
}
END_TEST

START_TEST(test_deterministic)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.seed = 99;
    struct fake *a = fake_new(&o), *b = fake_new(&o);
    ck_assert_int_eq(fake_add_tenant(a, "acme", "t", 50, 5, 5), 0);
    ck_assert_int_eq(fake_add_tenant(b, "acme", "t", 50, 5, 5), 0);
    ck_assert_int_eq(fake_add_tenant(b, "acme", "t2", 1, 1, 1), -EEXIST);
    char *da = fake_dump(a, "acme", NULL), *db = fake_dump(b, "acme", NULL);
    ck_assert_str_eq(da, db);
    free(da);
    free(db);
    fake_free(a);
    fake_free(b);
}
END_TEST

/* The command line: the port alone on the first line, then serve until SIGTERM. */
START_TEST(test_binary)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(VOMO_FAKE_BIN, "vomo-fake", "--tenant", "acme:tok:users=7,groups=1,projects=1",
              "--next-style", "omit", "--fault", "path=/v1/groups kind=status status=418 count=1",
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[32] = {0};
    size_t got = 0;
    while (got < sizeof(line) - 1 && !strchr(line, '\n')) {
        ssize_t k = read(fds[0], line + got, sizeof(line) - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fds[0]);
    char *end;
    long port = strtol(line, &end, 10);
    ck_assert_msg(port > 0 && *end == '\n', "first line was '%s'", line);
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer tok");
    CURL *c = curl_easy_init();
    char url[96];
    struct buf body;
    buf_init(&body, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%ld/v1/users", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    ck_assert_ptr_nonnull(strstr(body.data, "\"total\":7"));
    ck_assert_ptr_null(strstr(body.data, "\"next\""));
    snprintf(url, sizeof(url), "http://127.0.0.1:%ld/v1/groups", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    ck_assert_int_eq(st, 418);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    buf_free(&body);
    kill(pid, SIGTERM);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *fake_suite(void)
{
    Suite *s = suite_create("fake");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_pagination);
    tcase_add_test(tc, test_updated_after_inclusive);
    tcase_add_test(tc, test_groups_updated_after_option);
    tcase_add_test(tc, test_filters_and_reference);
    tcase_add_test(tc, test_shuffle_and_string_ids);
    tcase_add_test(tc, test_next_styles);
    tcase_add_test(tc, test_writes);
    tcase_add_test(tc, test_project_put_bumps);
    tcase_add_test(tc, test_auth);
    tcase_add_test(tc, test_fault_status_delay_malformed);
    tcase_add_test(tc, test_fault_reset_hang_lose);
    tcase_add_test(tc, test_fault_count_vs_probability);
    tcase_add_test(tc, test_rate_limit);
    tcase_add_test(tc, test_latency_does_not_block);
    tcase_add_test(tc, test_request_log);
    tcase_add_test(tc, test_mutate_delete_corrupt);
    tcase_add_test(tc, test_webhook_sink);
    tcase_add_test(tc, test_admin_http);
    tcase_add_test(tc, test_scenario_file);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_binary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(fake_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
