/*
 * check_call.c - one HTTP operation with its retries (src/call.c) against
 * the fake VOMO: retries until success, the retry budget, cancellation,
 * and a 409 on a write re-reading the resource and trying once more.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "testutil.h"
#include "util.h"
#include "vomo.h"

struct harness {
    struct tu_env env;
    uv_loop_t loop;
    struct http_client http;
    struct lane lane;
    struct backoff_policy policy;
    struct retry_budget budget;
    struct call call, get;
    char url[256], auth[96], group_id[32];
    bool done;
    struct call_result result;
    int rereads;
};

static void setup(struct harness *h)
{
    memset(h, 0, sizeof(*h));
    tu_env_init(&h->env, NULL);
    tu_tenant(&h->env, "acme", 1, 3, 1);
    tu_fake_start(&h->env);
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(h->env.fake, "acme", "groups", &recs, &n), 0);
    snprintf(h->group_id, sizeof(h->group_id), "%s", recs[0].id);
    fake_records_free(recs, n);
    snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%u/v1/groups/%s", h->env.port, h->group_id);
    snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer token-acme-0123456789");
    ck_assert_int_eq(uv_loop_init(&h->loop), 0);
    ck_assert_int_eq(http_init(&h->http, &h->loop), 0);
    lane_init(&h->lane, &h->loop, "test", 1);
    h->policy = (struct backoff_policy){.base_ms = 2, .max_ms = 10, .max_attempts = 4};
    budget_init(&h->budget, 100, 5, 1);
}

static void on_closed(struct http_client *c)
{
    (void)c;
}

static void teardown(struct harness *h)
{
    lane_close(&h->lane, NULL);
    http_close(&h->http, on_closed);
    uv_run(&h->loop, UV_RUN_DEFAULT); /* may return at once: on_done stopped it */
    uv_run(&h->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&h->loop), 0);
    tu_env_cleanup(&h->env);
}

static void on_done(struct call *c, const struct call_result *r)
{
    struct harness *h = c->arg;
    h->result = *r;
    h->result.resp = NULL;
    h->done = true;
    call_release(c);
    uv_stop(&h->loop);
}

static void prepare(struct harness *h, struct call *c, const char *method, const char *body)
{
    const char *headers[] = {h->auth, "Content-Type: application/json", NULL};
    call_init(c, method, h->url, body, body ? strlen(body) : 0, headers);
    c->lane = &h->lane;
    c->http = &h->http;
    c->ctx = strcmp(method, "GET") == 0 ? OP_VOMO_GET : OP_VOMO_WRITE;
    c->backoff = &h->policy;
    c->budget = &h->budget;
    c->timeout_ms = 2000;
    c->connect_timeout_ms = 1000;
    c->max_response = 1 << 20;
    c->tenant = "acme";
    c->resource = "groups";
    c->done = on_done;
    c->arg = h;
}

static void run(struct harness *h)
{
    for (int i = 0; i < 2000 && !h->done; i++)
        uv_run(&h->loop, UV_RUN_ONCE);
    ck_assert(h->done);
}

static int count_requests(struct harness *h, const char *method, int status)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(h->env.fake, &reqs, &n), 0);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(reqs[i].method, method) == 0 && strstr(reqs[i].path, "/v1/groups/") &&
            (status == 0 || reqs[i].status == status))
            k++;
    fake_requests_free(reqs, n);
    return k;
}

START_TEST(retries_until_success)
{
    struct harness h;
    setup(&h);
    struct fake_fault rule = {.method = "GET",
                              .path = "/v1/groups/*",
                              .count = 2,
                              .kind = FAKE_FAULT_STATUS,
                              .status = 503};
    ck_assert_int_gt(fake_add_fault(h.env.fake, &rule), 0);
    prepare(&h, &h.call, "GET", NULL);
    call_start(&h.call);
    run(&h);
    ck_assert_int_eq(h.result.cls, EC_NONE);
    ck_assert_int_eq(h.result.attempts, 3);
    ck_assert_int_eq(count_requests(&h, "GET", 503), 2);
    ck_assert_int_eq(count_requests(&h, "GET", 200), 1);
    teardown(&h);
}
END_TEST

START_TEST(empty_budget_stops_retries)
{
    struct harness h;
    setup(&h);
    h.budget.tokens = 0;
    struct fake_fault rule = {.method = "GET",
                              .path = "/v1/groups/*",
                              .count = 5,
                              .kind = FAKE_FAULT_STATUS,
                              .status = 503};
    ck_assert_int_gt(fake_add_fault(h.env.fake, &rule), 0);
    prepare(&h, &h.call, "GET", NULL);
    call_start(&h.call);
    run(&h);
    ck_assert_int_eq(h.result.cls, EC_TRANSIENT);
    ck_assert_int_eq(h.result.attempts, 1);
    ck_assert_int_eq(count_requests(&h, "GET", 0), 1);
    teardown(&h);
}
END_TEST

START_TEST(stopped_lane_cancels_queued_call)
{
    struct harness h;
    setup(&h);
    lane_stop(&h.lane);
    prepare(&h, &h.call, "GET", NULL);
    call_start(&h.call);
    ck_assert(h.done);
    ck_assert(h.result.cancelled);
    ck_assert_int_eq(count_requests(&h, "GET", 0), 0);
    lane_restart(&h.lane);
    teardown(&h);
}
END_TEST

/*
 * While a breaker is half-open only its probe's answer counts: a late
 * failure of a request admitted before (not the probe) leaves it half-open,
 * whereas the same failure on a closed breaker opens it.
 */
START_TEST(late_answer_leaves_half_open_breaker_alone)
{
    struct harness h;
    setup(&h);
    h.policy.max_attempts = 1;
    struct fake_fault rule = {.method = "GET",
                              .path = "/v1/groups/*",
                              .count = 2,
                              .kind = FAKE_FAULT_STATUS,
                              .status = 503};
    ck_assert_int_gt(fake_add_fault(h.env.fake, &rule), 0);
    struct breaker br;
    breaker_init(&br, 1, 60000);
    br.state = BREAKER_HALF_OPEN;
    br.probe_in_flight = true;
    prepare(&h, &h.call, "GET", NULL);
    h.call.breaker = &br;
    call_start(&h.call); /* the lane has no breaker: not admitted as the probe */
    run(&h);
    ck_assert_int_eq(h.result.cls, EC_TRANSIENT);
    ck_assert_int_eq(br.state, BREAKER_HALF_OPEN);

    breaker_init(&br, 1, 60000);
    h.done = false;
    prepare(&h, &h.call, "GET", NULL);
    h.call.breaker = &br;
    call_start(&h.call);
    run(&h);
    ck_assert_int_eq(br.state, BREAKER_OPEN);
    teardown(&h);
}
END_TEST

/* The reread hook: GET the group, re-apply the change on what it holds now. */
static void on_reread_done(struct call *c, const struct call_result *r)
{
    struct harness *h = c->arg;
    h->rereads++;
    if (r->cls != EC_NONE) {
        call_release(c);
        call_abandon(&h->call, "re-read failed");
        return;
    }
    struct vomo_record rec;
    const char *err = NULL;
    ck_assert_int_eq(vomo_parse_record(r->resp->body, r->resp->body_len, &rec, &err), 0);
    ck_assert_str_eq(rec.id, h->group_id);
    vomo_record_free(&rec);
    call_release(c);
    const char *body = "{\"name\":\"Re-applied after a conflict\"}";
    call_retry_with_body(&h->call, body, strlen(body));
}

static void reread(struct call *c)
{
    struct harness *h = c->arg;
    prepare(h, &h->get, "GET", NULL);
    h->get.done = on_reread_done;
    call_start(&h->get);
}

static void conflict_case(int conflicts)
{
    struct harness h;
    setup(&h);
    struct fake_fault rule = {.method = "PUT",
                              .path = "/v1/groups/*",
                              .count = conflicts,
                              .kind = FAKE_FAULT_STATUS,
                              .status = 409};
    ck_assert_int_gt(fake_add_fault(h.env.fake, &rule), 0);
    prepare(&h, &h.call, "PUT", "{\"name\":\"First try\"}");
    h.call.reread = reread;
    call_start(&h.call);
    run(&h);
    ck_assert_int_eq(h.rereads, 1);
    ck_assert_int_eq(count_requests(&h, "GET", 200), 1);
    ck_assert_int_eq(count_requests(&h, "PUT", 409), conflicts);
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(h.env.fake, "acme", "groups", &recs, &n), 0);
    bool reapplied = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(recs[i].id, h.group_id) == 0)
            reapplied = strstr(recs[i].payload, "Re-applied after a conflict") != NULL;
    fake_records_free(recs, n);
    if (conflicts == 1) {
        ck_assert_int_eq(h.result.cls, EC_NONE);
        ck_assert_int_eq(count_requests(&h, "PUT", 200), 1);
        ck_assert(reapplied);
    } else {
        ck_assert_int_eq(h.result.cls, EC_CONFLICT);
        ck_assert_int_eq(h.result.treatment, TR_DEAD_LETTER);
        ck_assert_int_eq(count_requests(&h, "PUT", 0), 2);
        ck_assert(!reapplied);
    }
    teardown(&h);
}

START_TEST(conflict_rereads_then_succeeds)
{
    conflict_case(1);
}
END_TEST

START_TEST(second_conflict_is_final)
{
    conflict_case(2);
}
END_TEST

static Suite *call_suite(void)
{
    Suite *s = suite_create("call");
    TCase *tc = tcase_create("call");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, retries_until_success);
    tcase_add_test(tc, empty_budget_stops_retries);
    tcase_add_test(tc, stopped_lane_cancels_queued_call);
    tcase_add_test(tc, late_answer_leaves_half_open_breaker_alone);
    tcase_add_test(tc, conflict_rereads_then_succeeds);
    tcase_add_test(tc, second_conflict_is_final);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(call_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
