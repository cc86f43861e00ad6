/*
 * check_apidoc.c - the read API's pure decisions without sockets: paths and
 * query arguments (what is 400, what is 404), Cache-Control no-cache,
 * freshness walked through hours with an injected `now` (fresh, stale past
 * twice the poll interval, refused past max_stale, a clock stepped back),
 * each source's Cache-Status, what VOMO's answers to a live read mean,
 * HTTP dates, and the envelope: a record with its payload spliced in
 * verbatim, a page's links and meta (first, middle, last, past the end,
 * empty, updated_after kept and encoded in every link), a deleted record
 * and an error; every body parses as JSON.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apidoc.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

START_TEST(paths)
{
    struct api_path p;
    const char *why;
    ck_assert_int_eq(apidoc_parse_path("acme/users", &p, &why), 0);
    ck_assert_str_eq(p.tenant, "acme");
    ck_assert_str_eq(p.resource, "users");
    ck_assert(!p.has_id);
    ck_assert_int_eq(apidoc_parse_path("acme/users/8205", &p, &why), 0);
    ck_assert(p.has_id);
    ck_assert_str_eq(p.id, "8205");
    const char *bad[] = {"",
                         "acme",
                         "acme/",
                         "/users",
                         "acme//1",
                         "acme/users/",
                         "acme/users/1/",
                         "acme/users/1/2",
                         "acme/users/a%20b",
                         "acme/users/a b"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        ck_assert_msg(apidoc_parse_path(bad[i], &p, &why) == -EINVAL, "accepted '%s'", bad[i]);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(apidoc_parse_path("ac me/users", &p, &why), -ENOENT);
    ck_assert_int_eq(apidoc_parse_path("acme/usersandmoreandmore/1", &p, &why), -ENOENT);
    char longid[200];
    memset(longid, '1', sizeof(longid));
    memcpy(longid, "acme/users/", 11);
    longid[199] = '\0';
    ck_assert_int_eq(apidoc_parse_path(longid, &p, &why), -EINVAL);
}
END_TEST

START_TEST(query_arguments)
{
    struct api_query q;
    const char *why;
    apidoc_query_init(&q);
    ck_assert_int_eq(q.page, 1);
    ck_assert_int_eq(apidoc_query_arg(&q, true, "page", "3", &why), 0);
    ck_assert_int_eq(q.page, 3);
    ck_assert_int_eq(apidoc_query_arg(&q, true, "updated_after", "2025-11-19T10:15:00+01:00", &why),
                     0);
    ck_assert_str_eq(q.updated_after, "2025-11-19T09:15:00.000Z");
    /* an unencoded '+' arrives as a space */
    ck_assert_int_eq(apidoc_query_arg(&q, true, "updated_after", "2025-11-19T10:15:00 02:00", &why),
                     0);
    ck_assert_str_eq(q.updated_after, "2025-11-19T08:15:00.000Z");
    ck_assert_int_eq(apidoc_query_arg(&q, true, "updated_after", "2025-11-19Z", &why), -EINVAL);
    ck_assert_int_eq(apidoc_query_arg(&q, true, "updated_after", "yesterday", &why), -EINVAL);
    ck_assert_int_eq(apidoc_query_arg(&q, true, "updated_after", NULL, &why), -EINVAL);
    const char *pages[] = {"0", "-1", "x", "1.5", "", "99999999999"};
    for (size_t i = 0; i < ARRAY_SIZE(pages); i++)
        ck_assert_msg(apidoc_query_arg(&q, true, "page", pages[i], &why) == -EINVAL, "page=%s",
                      pages[i]);
    ck_assert_int_eq(apidoc_query_arg(&q, true, "page", NULL, &why), -EINVAL);
    ck_assert_int_eq(apidoc_query_arg(&q, true, "email_like", "x", &why), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "updated_after, page, live"));
    ck_assert_int_eq(apidoc_query_arg(&q, false, "page", "2", &why), -EINVAL);
    ck_assert_int_eq(apidoc_query_arg(&q, false, "live", "1", &why), 0);
    ck_assert(q.live);
    ck_assert_int_eq(apidoc_query_arg(&q, false, "live", "yes", &why), -EINVAL);
    ck_assert_int_eq(apidoc_query_arg(&q, false, "live", "0", &why), 0);
    ck_assert(!q.live);
    ck_assert(!apidoc_wants_live(&q, NULL));
    ck_assert(!apidoc_wants_live(&q, "max-age=0"));
    ck_assert(!apidoc_wants_live(&q, "no-cachex"));
    ck_assert(apidoc_wants_live(&q, "no-cache"));
    ck_assert(apidoc_wants_live(&q, "max-age=0, No-Cache"));
    ck_assert(apidoc_wants_live(&q, "no-cache=\"set-cookie\""));
    q.live = true;
    ck_assert(apidoc_wants_live(&q, NULL));
}
END_TEST

START_TEST(freshness_over_time)
{
    int64_t t0 = 1796000000000LL;
    struct api_fresh_in in = {
        .now = t0, .last_complete = t0, .poll_interval_ms = 15 * MIN, .max_stale_ms = 7 * DAY};
    struct api_fresh f;
    apidoc_fresh(&in, API_SRC_MIRROR, 0, &f);
    ck_assert(!f.stale && !f.refuse);
    ck_assert_int_eq(f.age_s, 0);
    ck_assert_int_eq(f.as_of, t0);
    ck_assert_str_eq(f.cache_status, "vomo-sync; hit");
    in.now = t0 + 30 * MIN; /* exactly twice the interval: not yet stale */
    apidoc_fresh(&in, API_SRC_MIRROR, 0, &f);
    ck_assert(!f.stale);
    ck_assert_int_eq(f.age_s, 1800);
    in.now = t0 + 30 * MIN + 1;
    apidoc_fresh(&in, API_SRC_MIRROR, 0, &f);
    ck_assert(f.stale && !f.refuse);
    in.now = t0 + 7 * DAY;
    apidoc_fresh(&in, API_SRC_MIRROR, 0, &f);
    ck_assert(f.stale && !f.refuse);
    in.now = t0 + 7 * DAY + 1;
    apidoc_fresh(&in, API_SRC_MIRROR, 0, &f);
    ck_assert(f.refuse);
    ck_assert_int_eq(f.retry_after_s, 300); /* 15 min, capped */
    in.poll_interval_ms = 1500;
    apidoc_fresh(&in, API_SRC_MIRROR, 0, &f);
    ck_assert_int_eq(f.retry_after_s, 2);
    in.poll_interval_ms = 15 * MIN;
    in.now = t0 - HOUR; /* the clock stepped back */
    apidoc_fresh(&in, API_SRC_MIRROR, 0, &f);
    ck_assert_int_eq(f.age_s, 0);
    ck_assert(!f.stale && !f.refuse);
    in.last_complete = -1; /* never a complete scan */
    apidoc_fresh(&in, API_SRC_MIRROR, 0, &f);
    ck_assert(f.refuse && f.stale);
    ck_assert_int_eq(f.as_of, -1);
    ck_assert_int_eq(f.age_s, -1);
}
END_TEST

/* Every source's Cache-Status maps to one bounded cache label. */
START_TEST(cache_labels_follow_the_cache_status)
{
    struct api_fresh_in in = {.now = 1796000000000LL,
                              .last_complete = 1796000000000LL - SEC,
                              .poll_interval_ms = 15 * MIN,
                              .max_stale_ms = 7 * DAY};
    static const struct {
        enum api_source src;
        const char *label;
    } want[] = {{API_SRC_MIRROR, "hit"},     {API_SRC_FALLBACK, "stale"}, {API_SRC_LIVE, "fwd"},
                {API_SRC_PASSED, "fwd"},     {API_SRC_SCANNED, "fwd"},    {API_SRC_PENDING, "hit"},
                {API_SRC_REFUSED, "refused"}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct api_fresh f;
        apidoc_fresh(&in, want[i].src, 200, &f);
        ck_assert_msg(strcmp(apidoc_cache_label(f.cache_status), want[i].label) == 0,
                      "%s: %s, not %s", f.cache_status, apidoc_cache_label(f.cache_status),
                      want[i].label);
    }
    ck_assert_str_eq(apidoc_cache_label(NULL), "none");
}
END_TEST

START_TEST(sources_and_live_outcomes)
{
    int64_t t0 = 1796000000000LL;
    struct api_fresh_in in = {.now = t0 + 10 * SEC,
                              .last_complete = t0,
                              .poll_interval_ms = 15 * MIN,
                              .max_stale_ms = 7 * DAY};
    struct api_fresh f;
    apidoc_fresh(&in, API_SRC_FALLBACK, 0, &f);
    ck_assert(f.stale && !f.refuse);
    ck_assert_str_eq(f.cache_status, "vomo-sync; hit; detail=upstream-down");
    ck_assert_int_eq(f.age_s, 10);
    apidoc_fresh(&in, API_SRC_LIVE, 200, &f);
    ck_assert(!f.stale && !f.refuse);
    ck_assert_int_eq(f.as_of, in.now);
    ck_assert_int_eq(f.age_s, 0);
    ck_assert_str_eq(f.cache_status, "vomo-sync; fwd=miss; fwd-status=200");
    in.last_complete = -1; /* a live answer needs no scan */
    apidoc_fresh(&in, API_SRC_PASSED, 404, &f);
    ck_assert(!f.refuse);
    ck_assert_str_eq(f.cache_status, "vomo-sync; fwd=miss; fwd-status=404");
    in.last_complete = t0;
    apidoc_fresh(&in, API_SRC_SCANNED, 0, &f);
    ck_assert_str_eq(f.cache_status, "vomo-sync; fwd=miss; fwd-status=200; detail=scan");
    apidoc_fresh(&in, API_SRC_PENDING, 0, &f);
    ck_assert_str_eq(f.cache_status, "vomo-sync; hit; detail=scan-pending");
    ck_assert(!f.stale);
    apidoc_fresh(&in, API_SRC_REFUSED, 401, &f);
    ck_assert_str_eq(f.cache_status, "vomo-sync; detail=upstream-refused");
    ck_assert_int_eq(apidoc_live_outcome(200, true), API_LIVE_FRESH);
    ck_assert_int_eq(apidoc_live_outcome(200, false), API_LIVE_FALLBACK);
    ck_assert_int_eq(apidoc_live_outcome(401, false), API_LIVE_PASS);
    ck_assert_int_eq(apidoc_live_outcome(403, false), API_LIVE_PASS);
    ck_assert_int_eq(apidoc_live_outcome(404, false), API_LIVE_PASS);
    long down[] = {0, 429, 500, 502, 503, 504, 408};
    for (size_t i = 0; i < ARRAY_SIZE(down); i++)
        ck_assert_int_eq(apidoc_live_outcome(down[i], false), API_LIVE_FALLBACK);
    ck_assert_str_eq(apidoc_upstream_name(API_UP_BREAKER_OPEN), "breaker_open");
    ck_assert_str_eq(apidoc_upstream_name(API_UP_AUTH_FAILED), "auth_failed");
    ck_assert_str_eq(apidoc_upstream_name(API_UP_UNREACHABLE), "unreachable");
}
END_TEST

START_TEST(dates_and_hosts)
{
    char d[APIDOC_HTTP_DATE_LEN];
    apidoc_http_date(784111777000LL, d);
    ck_assert_str_eq(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    int64_t back;
    ck_assert_int_eq(ts_parse_http_date(d, &back), 0);
    ck_assert_int_eq(back, 784111777000LL);
    apidoc_http_date(INT64_MAX, d); /* clamped, never garbage */
    ck_assert_str_eq(d, "Fri, 31 Dec 9999 23:59:59 GMT");
    apidoc_http_date(-5, d);
    ck_assert_str_eq(d, "Thu, 01 Jan 1970 00:00:00 GMT");
    ck_assert(apidoc_host_ok("127.0.0.1:9464"));
    ck_assert(apidoc_host_ok("[::1]:9464"));
    ck_assert(apidoc_host_ok("sync.example.org"));
    ck_assert(!apidoc_host_ok(""));
    ck_assert(!apidoc_host_ok("evil\"host"));
    ck_assert(!apidoc_host_ok("a/b"));
}
END_TEST

static cJSON *parsed(struct buf *b)
{
    cJSON *j = cJSON_Parse(b->data);
    ck_assert_msg(j, "not JSON: %s", b->data);
    return j;
}

static const char *str_at(cJSON *o, const char *a, const char *k)
{
    cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), k);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static double num_at(cJSON *o, const char *a, const char *k)
{
    cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), k);
    ck_assert_msg(cJSON_IsNumber(x), "%s.%s is not a number", a, k);
    return x->valuedouble;
}

static bool null_at(cJSON *o, const char *a, const char *k)
{
    return cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), k));
}

START_TEST(record_gone_and_error_bodies)
{
    struct api_fresh_in in = {.now = 1796000010000LL,
                              .last_complete = 1796000000000LL,
                              .poll_interval_ms = 15 * MIN,
                              .max_stale_ms = 7 * DAY};
    struct api_fresh f;
    apidoc_fresh(&in, API_SRC_MIRROR, 0, &f);
    struct buf b;
    buf_init(&b, 0);
    const char *payload =
        "{\"id\":12,\"name\":\"Jos\\u00e9\",\"updated_at\":\"2025-11-19T10:15:00+00:00\"}";
    ck_assert_int_eq(apidoc_record(&b, payload, &f, API_UP_OK), 0);
    ck_assert_ptr_nonnull(strstr(b.data, payload)); /* verbatim, not re-serialised */
    cJSON *j = parsed(&b);
    ck_assert_str_eq(str_at(j, "meta", "as_of"), "2026-11-30T00:53:20.000Z");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "meta"), "stale")));
    ck_assert_str_eq(str_at(j, "meta", "upstream"), "ok");
    ck_assert_int_eq((int)num_at(j, "data", "id"), 12);
    cJSON_Delete(j);
    buf_reset(&b);
    ck_assert_int_eq(apidoc_gone(&b, "12", "2026-11-28T08:43:07.000Z", &f, API_UP_BREAKER_OPEN), 0);
    j = parsed(&b);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "deleted_at")->valuestring, "2026-11-28T08:43:07.000Z");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, "12");
    ck_assert_str_eq(str_at(j, "meta", "upstream"), "breaker_open");
    cJSON_Delete(j);
    buf_reset(&b);
    in.last_complete = -1;
    apidoc_fresh(&in, API_SRC_MIRROR, 0, &f);
    ck_assert_int_eq(apidoc_error(&b, "VOMO said \"no\"", 404, &f, API_UP_OK), 0);
    j = parsed(&b);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "upstream_status")->valueint, 404);
    ck_assert(null_at(j, "meta", "as_of"));
    ck_assert_str_eq(cJSON_GetObjectItem(j, "error")->valuestring, "VOMO said \"no\"");
    cJSON_Delete(j);
    buf_reset(&b);
    ck_assert_int_eq(apidoc_error(&b, "x", 0, &f, API_UP_OK), 0);
    j = parsed(&b);
    ck_assert_ptr_null(cJSON_GetObjectItem(j, "upstream_status"));
    cJSON_Delete(j);
    buf_free(&b);
}
END_TEST

/* A page of `count` items "{\"id\":N}" of a list of `total`. */
static cJSON *page_doc(int64_t page, int64_t total, size_t count, const char *ua, const char *live)
{
    struct api_fresh_in in = {.now = 1796000010000LL,
                              .last_complete = 1796000000000LL,
                              .poll_interval_ms = 15 * MIN,
                              .max_stale_ms = 7 * DAY};
    struct api_fresh f;
    apidoc_fresh(&in, API_SRC_MIRROR, 0, &f);
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(apidoc_page_open(&b), 0);
    for (size_t i = 0; i < count; i++) {
        char item[32];
        snprintf(item, sizeof(item), "{\"id\":%zu}", i);
        ck_assert_int_eq(apidoc_page_item(&b, item, i), 0);
    }
    struct api_page p = {.path = "http://127.0.0.1:9464/api/v1/acme/users",
                         .updated_after = ua,
                         .page = page,
                         .total = total,
                         .count = count,
                         .live = live};
    ck_assert_int_eq(apidoc_page_close(&b, &p, &f, API_UP_UNREACHABLE), 0);
    cJSON *j = parsed(&b);
    buf_free(&b);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), (int)count);
    return j;
}

START_TEST(page_links_and_meta)
{
    ck_assert_int_eq(apidoc_last_page(0), 1);
    ck_assert_int_eq(apidoc_last_page(100), 1);
    ck_assert_int_eq(apidoc_last_page(101), 2);
    cJSON *j = page_doc(1, 250, 100, "", NULL);
    ck_assert_str_eq(str_at(j, "links", "first"), "http://127.0.0.1:9464/api/v1/acme/users?page=1");
    ck_assert_str_eq(str_at(j, "links", "last"), "http://127.0.0.1:9464/api/v1/acme/users?page=3");
    ck_assert(null_at(j, "links", "prev"));
    ck_assert_str_eq(str_at(j, "links", "next"), "http://127.0.0.1:9464/api/v1/acme/users?page=2");
    ck_assert_int_eq((int)num_at(j, "meta", "current_page"), 1);
    ck_assert_int_eq((int)num_at(j, "meta", "from"), 1);
    ck_assert_int_eq((int)num_at(j, "meta", "to"), 100);
    ck_assert_int_eq((int)num_at(j, "meta", "last_page"), 3);
    ck_assert_int_eq((int)num_at(j, "meta", "per_page"), 100);
    ck_assert_int_eq((int)num_at(j, "meta", "total"), 250);
    ck_assert_str_eq(str_at(j, "meta", "path"), "http://127.0.0.1:9464/api/v1/acme/users");
    ck_assert_str_eq(str_at(j, "meta", "upstream"), "unreachable");
    ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "meta"), "live"));
    cJSON_Delete(j);
    j = page_doc(3, 250, 50, "2025-11-19T09:15:00.000Z", "scanned");
    ck_assert_str_eq(str_at(j, "links", "prev"),
                     "http://127.0.0.1:9464/api/v1/acme/users?page=2&updated_after="
                     "2025-11-19T09%3A15%3A00.000Z");
    ck_assert(null_at(j, "links", "next"));
    ck_assert_int_eq((int)num_at(j, "meta", "from"), 201);
    ck_assert_int_eq((int)num_at(j, "meta", "to"), 250);
    ck_assert_str_eq(str_at(j, "meta", "live"), "scanned");
    cJSON_Delete(j);
    j = page_doc(9, 250, 0, "", NULL); /* past the end: empty, like Laravel */
    ck_assert(null_at(j, "meta", "from") && null_at(j, "meta", "to"));
    ck_assert(null_at(j, "links", "next"));
    ck_assert_str_eq(str_at(j, "links", "prev"), "http://127.0.0.1:9464/api/v1/acme/users?page=8");
    cJSON_Delete(j);
    j = page_doc(1, 0, 0, "", NULL);
    ck_assert_int_eq((int)num_at(j, "meta", "last_page"), 1);
    ck_assert(null_at(j, "links", "next") && null_at(j, "links", "prev"));
    cJSON_Delete(j);
}
END_TEST

static Suite *apidoc_suite(void)
{
    Suite *s = suite_create("apidoc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, paths);
    tcase_add_test(tc, query_arguments);
    tcase_add_test(tc, freshness_over_time);
    tcase_add_test(tc, sources_and_live_outcomes);
    tcase_add_test(tc, cache_labels_follow_the_cache_status);
    tcase_add_test(tc, dates_and_hosts);
    tcase_add_test(tc, record_gone_and_error_bodies);
    tcase_add_test(tc, page_links_and_meta);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(apidoc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
