/*
 * check_webhook.c - a webhook destination that answers as misconfigured
 * (401, 403, 404, 410, or a signature it rejects) pauses: records wait,
 * nothing is dead-lettered, the operator is told (tenant_state), one probe
 * goes out every breaker.open_timeout, and deliveries resume by themselves
 * when the endpoint recovers or at once when the secret file changes.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util.h"

struct ctx {
    struct tu_env *env;
    int64_t want;
};

static int deliveries(struct tu_env *env, int status)
{
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(fake_deliveries(env->fake, &d, &n), 0);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if (status == 0 || d[i].status == status)
            k++;
    fake_deliveries_free(d, n);
    return k;
}

static bool paused(void *arg)
{
    struct ctx *c = arg;
    char *st = tu_db_text(c->env, "SELECT status FROM tenant_state WHERE tenant = 'acme'", NULL);
    bool yes = st && strcmp(st, "destination_paused") == 0;
    free(st);
    return yes;
}

static bool all_held(void *arg)
{
    struct ctx *c = arg;
    return tu_db_int(c->env, "SELECT count(*) FROM records WHERE tenant = 'acme'", NULL) == c->want;
}

/* The endpoint answers `status` until it is fixed: a pause, probes at the
 * open_timeout pace, then everything delivered and nothing dead-lettered. */
static void misconfigured_endpoint(int status)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 0, 0);
    tu_fake_start(&env);
    struct fake_fault rule = {.path = "/_hooks/*", .kind = FAKE_FAULT_STATUS, .status = status};
    ck_assert_int_gt(fake_add_fault(env.fake, &rule), 0);
    char *ini = tu_webhook_tenant_ini(&env, "acme", "users", "s3cret-value", NULL, NULL);
    tu_config(&env, "breaker.open_timeout = 400ms\nretry.max_attempts = 3\n", ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct ctx c = {.env = &env, .want = 40};
    ck_assert(tu_run_until(&te, paused, &c, 5000));
    int before = deliveries(&env, 0);
    tu_run_for(&te, 1000);
    int during = deliveries(&env, 0) - before;
    /* One probe per 400 ms over 1 s: 2 or 3, never the whole backlog. */
    ck_assert_int_ge(during, 1);
    ck_assert_int_le(during, 4);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records", NULL), 0);
    fake_clear_faults(env.fake);
    ck_assert(tu_run_until(&te, all_held, &c, 5000));
    tu_engine_stop(&te);
    ck_assert_int_eq(deliveries(&env, 200), 40);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    char *st = tu_db_text(&env, "SELECT status FROM tenant_state WHERE tenant = 'acme'", NULL);
    ck_assert_str_eq(st, "ok");
    free(st);
    free(ini);
    tu_env_cleanup(&env);
}

START_TEST(unauthorized_endpoint_pauses_then_resumes)
{
    misconfigured_endpoint(401);
}
END_TEST

START_TEST(forbidden_endpoint_pauses_then_resumes)
{
    misconfigured_endpoint(403);
}
END_TEST

START_TEST(missing_endpoint_pauses_then_resumes)
{
    misconfigured_endpoint(404);
}
END_TEST

START_TEST(gone_endpoint_pauses_then_resumes)
{
    misconfigured_endpoint(410);
}
END_TEST

/* A probe of a paused destination that gets a retryable answer (503) says
 * nothing about the misconfiguration: the lane goes on probing (it used to
 * stay paused with its probe slot taken until SIGHUP), and once the endpoint
 * answers 2xx everything is delivered. */
START_TEST(retryable_answer_to_a_probe_keeps_probing)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 0, 0);
    tu_fake_start(&env);
    struct fake_fault rule = {.path = "/_hooks/*", .kind = FAKE_FAULT_STATUS, .status = 404};
    ck_assert_int_gt(fake_add_fault(env.fake, &rule), 0);
    char *ini = tu_webhook_tenant_ini(&env, "acme", "users", "s3cret-value", NULL, NULL);
    tu_config(&env, "breaker.open_timeout = 300ms\nretry.max_attempts = 3\n", ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct ctx c = {.env = &env, .want = 40};
    ck_assert(tu_run_until(&te, paused, &c, 5000));
    fake_clear_faults(env.fake);
    struct fake_fault busy = {
        .path = "/_hooks/*", .kind = FAKE_FAULT_STATUS, .status = 503, .count = 1};
    int id = fake_add_fault(env.fake, &busy);
    ck_assert_int_gt(id, 0);
    ck_assert(tu_run_until(&te, all_held, &c, 8000));
    tu_engine_stop(&te);
    ck_assert_int_eq(fake_fault_hits(env.fake, id), 1);
    ck_assert_int_eq(deliveries(&env, 200), 40);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* A wrong secret: the sink rejects every signature.  Probes are an hour
 * apart, so only the fixed secret file can resume deliveries - at once. */
START_TEST(fixed_secret_file_resumes_at_once)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 0, 0);
    tu_fake_start(&env);
    char *ini =
        tu_webhook_tenant_ini(&env, "acme", "users", "the-wrong-secret", "the-right-secret", NULL);
    tu_config(&env, "breaker.open_timeout = 1h\n", ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct ctx c = {.env = &env, .want = 30};
    ck_assert(tu_run_until(&te, paused, &c, 5000));
    tu_run_for(&te, 300);
    int rejected = deliveries(&env, 401);
    ck_assert_int_ge(rejected, 1);
    ck_assert_int_eq(deliveries(&env, 200), 0);
    tu_write(&env, "acme.secret", "the-right-secret\n");
    ck_assert(tu_run_until(&te, all_held, &c, 6000)); /* the watch reads it within 2 s */
    tu_engine_stop(&te);
    ck_assert_int_eq(deliveries(&env, 200), 30);
    ck_assert_int_eq(deliveries(&env, 401), rejected);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(fake_deliveries(env.fake, &d, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (d[i].status == 200)
            ck_assert(d[i].signature_ok);
    fake_deliveries_free(d, n);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- one record refused: it alone is retried or dead-lettered ---- */

/* The refused record (the 7th of the dataset) and how its deliveries are
 * recognised: the envelope's id, a string, not the payload's number. */
static char one_id[32];
static char one_match[64];

static void pick_one(struct tu_env *env)
{
    struct fake_record *r;
    size_t n;
    ck_assert_int_eq(fake_records(env->fake, "acme", "users", &r, &n), 0);
    ck_assert_uint_gt(n, 7);
    snprintf(one_id, sizeof(one_id), "%s", r[6].id);
    snprintf(one_match, sizeof(one_match), "\"id\":\"%s\"", one_id);
    fake_records_free(r, n);
}

/* Deliveries of the refused record answered `status` (0 = any). */
static int deliveries_of_one(struct tu_env *env, int status)
{
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(fake_deliveries(env->fake, &d, &n), 0);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if (strstr(d[i].body, one_match) && (status == 0 || d[i].status == status))
            k++;
    fake_deliveries_free(d, n);
    return k;
}

static bool scan_completed(void *arg)
{
    struct ctx *c = arg;
    return tu_db_int(c->env,
                     "SELECT count(*) FROM checkpoints WHERE tenant = 'acme' AND "
                     "resource = 'users' AND last_scan_status = 'complete' AND "
                     "updated_after > '1970-01-01T00:00:00.000Z'",
                     NULL) == 1;
}

/*
 * The sink answers `status` for the refused record only.  Returns once the first
 * scan completed; every other record is delivered and the checkpoint moved.
 */
static void one_record_refused(struct tu_env *env, struct tu_engine *te, int status)
{
    tu_env_init(env, NULL);
    tu_tenant(env, "acme", 20, 0, 0);
    tu_fake_start(env);
    pick_one(env);
    struct fake_fault rule = {.path = "/_hooks/*",
                              .body_contains = one_match,
                              .kind = FAKE_FAULT_STATUS,
                              .status = status};
    ck_assert_int_gt(fake_add_fault(env->fake, &rule), 0);
    char *ini = tu_webhook_tenant_ini(env, "acme", "users", "s3cret-value", NULL, NULL);
    /* The DLQ processor waits an hour: what is counted is the scan's work.
     * When the refused record's answer comes before any other's, the
     * destination is taken for misconfigured and paused until a probe
     * (every breaker.open_timeout): short here, so the scan completes
     * whichever answer came first. */
    tu_config(env,
              "retry.max_attempts = 3\nretry.base_delay = 20ms\ndlq.base_delay = 1h\n"
              "dlq.max_delay = 6h\nbreaker.open_timeout = 200ms\n",
              ini);
    free(ini);
    tu_engine_start(env, te);
    struct ctx c = {.env = env, .want = 19};
    ck_assert_msg(tu_run_until(te, scan_completed, &c, 8000), "the scan never completed");
    ck_assert(tu_run_until(te, all_held, &c, 5000));
    ck_assert_int_eq(deliveries(env, 200), 19);
    ck_assert_int_eq(tu_db_int(env, "SELECT count(*) FROM records WHERE id = ?1", one_id, NULL), 0);
    ck_assert_int_eq(tu_db_int(env, "SELECT count(*) FROM dlq", NULL), 1);
}

static void expect_dead_letter(struct tu_env *env, const char *status, const char *cls,
                               int http_status)
{
    char *st = tu_db_text(env, "SELECT status || ' ' || error_class FROM dlq WHERE record_id = ?1",
                          one_id, NULL);
    char want[64];
    snprintf(want, sizeof(want), "%s %s", status, cls);
    ck_assert_str_eq(st, want);
    free(st);
    ck_assert_int_eq(
        tu_db_int(env, "SELECT http_status FROM dlq WHERE record_id = ?1", one_id, NULL),
        http_status);
}

/* A 409 is a conflict of that record: its retries with backoff, then a
 * pending dead letter for the DLQ processor; the scan is not held back. */
START_TEST(conflict_for_one_record_is_retried_then_dead_lettered)
{
    struct tu_env env;
    struct tu_engine te;
    one_record_refused(&env, &te, 409);
    tu_run_for(&te, 300); /* later scans skip it: the dead letter owns it */
    tu_engine_stop(&te);
    expect_dead_letter(&env, "pending", "conflict", 409);
    ck_assert_int_eq(deliveries_of_one(&env, 409), 3); /* retry.max_attempts */
    ck_assert_int_eq(deliveries_of_one(&env, 0), 3);
    tu_env_cleanup(&env);
}
END_TEST

/* A 404 for one record while the others are delivered: the destination
 * pauses once, the record gets the same answer after the others went
 * through, and goes to manual review; the scan completes. */
START_TEST(not_found_for_one_record_goes_to_manual_review)
{
    struct tu_env env;
    struct tu_engine te;
    one_record_refused(&env, &te, 404);
    tu_run_for(&te, 300);
    tu_engine_stop(&te);
    expect_dead_letter(&env, "manual_review", "not_found", 404);
    ck_assert_int_eq(deliveries_of_one(&env, 404), 2);
    char *st = tu_db_text(&env, "SELECT status FROM tenant_state WHERE tenant = 'acme'", NULL);
    ck_assert_str_eq(st, "ok");
    free(st);
    tu_env_cleanup(&env);
}
END_TEST

/* A 4xx the contract does not list is validation-like: manual review at
 * once, without a retry and without pausing anything. */
START_TEST(unlisted_4xx_goes_to_manual_review_at_once)
{
    struct tu_env env;
    struct tu_engine te;
    one_record_refused(&env, &te, 418);
    tu_run_for(&te, 300);
    tu_engine_stop(&te);
    expect_dead_letter(&env, "manual_review", "validation", 418);
    ck_assert_int_eq(deliveries_of_one(&env, 0), 1);
    tu_env_cleanup(&env);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("webhook");
    TCase *tc = tcase_create("pause");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, unauthorized_endpoint_pauses_then_resumes);
    tcase_add_test(tc, forbidden_endpoint_pauses_then_resumes);
    tcase_add_test(tc, missing_endpoint_pauses_then_resumes);
    tcase_add_test(tc, gone_endpoint_pauses_then_resumes);
    tcase_add_test(tc, retryable_answer_to_a_probe_keeps_probing);
    tcase_add_test(tc, fixed_secret_file_resumes_at_once);
    suite_add_tcase(s, tc);
    tc = tcase_create("one record");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, conflict_for_one_record_is_retried_then_dead_lettered);
    tcase_add_test(tc, not_found_for_one_record_goes_to_manual_review);
    tcase_add_test(tc, unlisted_4xx_goes_to_manual_review_at_once);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
