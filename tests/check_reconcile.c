/*
 * check_reconcile.c - integration suite of what reconciliation (the full
 * scan that finds deletions) may and may not conclude, against the fake
 * VOMO: versions a person settled in the DLQ stay settled after a purge,
 * a record that slid across a page boundary while the scan ran is not
 * marked deleted (each candidate is confirmed by reading it), and a
 * reconciliation that would delete too much deletes nothing and asks a
 * person.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "testutil.h"
#include "util.h"

/* ---- set-up and what the fake saw ---- */

static struct slot *slot_of(struct engine *e, const char *tenant, const char *resource)
{
    struct tenant *t = engine_tenant(e, tenant);
    enum resource r;
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(resource_parse(resource, &r), 0);
    return &t->slots[r];
}

struct scan_wait {
    struct slot *slot;
    int64_t n;
};

static bool slot_finished_n(void *arg)
{
    struct scan_wait *w = arg;
    return w->slot->scans_finished >= w->n;
}

/* Runs until the slot has finished n scans in all (asserted). */
static void run_scans(struct tu_engine *te, struct slot *slot, int64_t n)
{
    struct scan_wait w = {slot, n};
    ck_assert_msg(tu_run_until(te, slot_finished_n, &w, 15000), "slot did not finish %lld scans",
                  (long long)n);
}

/* A fault rule that makes the webhook sink answer `status` for one record. */
static void hook_fault(struct tu_env *env, const char *id, int status)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
    struct fake_fault r = {
        .path = "/_hooks/*", .body_contains = needle, .kind = FAKE_FAULT_STATUS, .status = status};
    ck_assert_int_gt(fake_add_fault(env->fake, &r), 0);
}

static char *webhook_tenant(struct tu_env *env, const char *name, const char *more)
{
    char secret[64];
    snprintf(secret, sizeof(secret), "hook-secret-of-%s", name);
    return tu_webhook_tenant_ini(env, name, "users", secret, secret, more);
}

/* Deliveries to `tenant` whose body carries "id":"ID" and, when action is
 * not NULL, "action":"ACTION". */
static int deliveries_of(struct tu_env *env, const char *tenant, const char *id, const char *action)
{
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(fake_deliveries(env->fake, &d, &n), 0);
    char needle[64], act[64];
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
    snprintf(act, sizeof(act), "\"action\":\"%s\"", action ? action : "");
    int count = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].tenant, tenant) == 0 && strstr(d[i].body, needle) &&
            (!action || strstr(d[i].body, act)))
            count++;
    fake_deliveries_free(d, n);
    return count;
}

static void record_id_at(struct tu_env *env, const char *tenant, size_t i, char out[32])
{
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env->fake, tenant, "users", &recs, &n), 0);
    ck_assert_uint_gt(n, i);
    snprintf(out, 32, "%s", recs[i].id);
    fake_records_free(recs, n);
}

/* ---- purge keeps what the skip rule needs ---- */

/*
 * Issue 10, item 14: `dlq purge --resolved` deleted discarded rows too (and
 * the rows of versions resolved by hand), so the next reconciliation sent
 * those versions again.  Now it deletes only resolved rows, and of those
 * keeps a version resolved by hand while no newer version is known.
 */
START_TEST(purge_keeps_versions_a_person_settled)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 20, 0, 0);
    tu_fake_start(&env);
    char discarded[32], by_hand[32];
    record_id_at(&env, "acme", 3, discarded);
    record_id_at(&env, "acme", 7, by_hand);
    hook_fault(&env, discarded, 422);
    hook_fault(&env, by_hand, 422);
    char *a = webhook_tenant(&env, "acme", NULL);
    tu_config(&env, "poll.reconcile_interval = 1ms\n", a); /* every scan is a full one */
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *slot = slot_of(te.e, "acme", "users");
    run_scans(&te, slot, 1);
    int64_t d1 = tu_db_int(&env, "SELECT id FROM dlq WHERE record_id = ?1", discarded, NULL);
    int64_t d2 = tu_db_int(&env, "SELECT id FROM dlq WHERE record_id = ?1", by_hand, NULL);
    ck_assert_int_gt(d1, 0);
    ck_assert_int_gt(d2, 0);
    const char *at = "2026-01-01T00:00:00.000Z";
    ck_assert_int_eq(store_dlq_close(te.store, d1, "discarded", "discarded", NULL, "tester", at),
                     0);
    ck_assert_int_eq(store_dlq_close(te.store, d2, "resolved", "manual", NULL, "tester", at), 0);
    /* A row the daemon resolved itself is what purging is for. */
    struct dlq_new n = {.tenant = "acme",
                        .resource = "users",
                        .record_id = "no-such-record",
                        .record_updated_at = at,
                        .status = "pending",
                        .error_class = "transient",
                        .attempts = 1,
                        .next_attempt_at = "2030-01-01T00:00:00.000Z",
                        .last_error = "test",
                        .now = at};
    int64_t d3 = 0;
    ck_assert_int_eq(store_dlq_add(te.store, &n, &d3), 0);
    ck_assert_int_eq(store_dlq_close(te.store, d3, "resolved", "delivered", NULL, "daemon", at), 0);
    fake_clear_faults(env.fake);
    int64_t deleted = -1;
    ck_assert_int_eq(store_dlq_purge(te.store, "9999-01-01T00:00:00.000Z", &deleted), 0);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 2);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM dlq WHERE (status = 'discarded' AND "
                               "record_id = ?1) OR (resolution = 'manual' AND record_id = ?2)",
                               discarded, by_hand, NULL),
                     2);
    run_scans(&te, slot, slot->scans_finished + 2);
    tu_engine_stop(&te);
    ck_assert_int_eq(deliveries_of(&env, "acme", discarded, NULL), 1);
    ck_assert_int_eq(deliveries_of(&env, "acme", by_hand, NULL), 1);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- a record that slid across a page boundary ---- */

static void nth_record(struct tu_env *env, const char *tenant, size_t i, char id[32],
                       char version[TS_LEN])
{
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env->fake, tenant, "users", &recs, &n), 0);
    ck_assert_uint_gt(n, i);
    snprintf(id, 32, "%s", recs[i].id);
    if (version)
        snprintf(version, TS_LEN, "%s", recs[i].updated_at);
    fake_records_free(recs, n);
}

/* GET /v1/users/{id} requests the fake answered. */
static int gets_of(struct tu_env *env, const char *id)
{
    char path[64];
    snprintf(path, sizeof(path), "/v1/users/%s", id);
    struct fake_request *r;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &r, &n), 0);
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += strcmp(r[i].method, "GET") == 0 && strcmp(r[i].path, path) == 0;
    fake_requests_free(r, n);
    return count;
}

static int64_t is_deleted(struct tu_env *env, const char *id)
{
    return tu_db_int(env, "SELECT deleted_at IS NOT NULL FROM records WHERE id = ?1", id, NULL);
}

/*
 * Issue 10, item 4, the exact sequence: during a full scan, after page 1
 * was read, a page-1 record is deleted and a record created.  The first
 * record of page 2 slides onto page 1 and is never listed, yet the
 * distinct ids equal meta.total.  It must not be marked deleted (nor a
 * delete sent to the webhook); the record deleted before the scan must;
 * the one deleted mid-scan is found by the next reconciliation.
 */
START_TEST(record_that_slid_between_pages_is_not_deleted)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "hook", 60, 0, 0);
    tu_fake_start(&env);
    char *a = webhook_tenant(&env, "hook", NULL);
    /* One page at a time, so page 2 is asked for after page 1 was read;
     * every scan a reconciliation. */
    tu_config(&env, "vomo.max_concurrency = 1\npoll.reconcile_interval = 1ms\n", a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *slot = slot_of(te.e, "hook", "users");
    run_scans(&te, slot, 1);
    ck_assert_int_eq(tu_mirror_diff(&env, "hook", "users"), 0);
    char mid_scan[32], slid[32], before[32];
    nth_record(&env, "hook", 2, mid_scan, NULL); /* on page 1 */
    nth_record(&env, "hook", 15, slid, NULL);    /* first of page 2 */
    nth_record(&env, "hook", 40, before, NULL);
    ck_assert_int_eq(fake_delete_id(env.fake, "hook", "users", before), 0);
    fake_requests_clear(env.fake);
    fake_deliveries_clear(env.fake);
    ck_assert_int_eq(fake_after_page(env.fake, "hook", "users", 1, mid_scan, 1), 0);
    run_scans(&te, slot, 2);
    ck_assert_int_eq(slot->scans_complete, 2);
    ck_assert_int_eq(is_deleted(&env, slid), 0);
    ck_assert_int_eq(deliveries_of(&env, "hook", slid, "delete"), 0);
    ck_assert_int_eq(gets_of(&env, slid), 1); /* it was asked about, by id */
    ck_assert_int_eq(is_deleted(&env, before), 1);
    ck_assert_int_eq(deliveries_of(&env, "hook", before, "delete"), 1);
    ck_assert_int_eq(is_deleted(&env, mid_scan), 0); /* listed on page 1 */
    /* The next reconciliation finds the one deleted mid-scan, and the
     * created one is delivered like any new record. */
    run_scans(&te, slot, 3);
    tu_engine_stop(&te);
    ck_assert_int_eq(is_deleted(&env, mid_scan), 1);
    ck_assert_int_eq(deliveries_of(&env, "hook", mid_scan, "delete"), 1);
    ck_assert_int_eq(is_deleted(&env, slid), 0);
    ck_assert_int_eq(deliveries_of(&env, "hook", slid, "delete"), 0);
    ck_assert_int_eq(tu_mirror_diff(&env, "hook", "users"), 0);
    ck_assert_int_eq(tu_db_int(&env, "SELECT sum(deleted) FROM scans", NULL), 2);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/*
 * A candidate VOMO answers neither 200 nor 404 for is left alone: not
 * deleted, asked again by the next reconciliation.
 */
START_TEST(unconfirmed_candidate_waits_for_the_next_reconciliation)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 0, 0);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "poll.reconcile_interval = 1ms\nretry.max_attempts = 1\n", a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *slot = slot_of(te.e, "acme", "users");
    run_scans(&te, slot, 1);
    char gone[32];
    nth_record(&env, "acme", 5, gone, NULL);
    ck_assert_int_eq(fake_delete_id(env.fake, "acme", "users", gone), 0);
    char path[64];
    snprintf(path, sizeof(path), "/v1/users/%s", gone);
    struct fake_fault f = {
        .method = "GET", .path = path, .kind = FAKE_FAULT_STATUS, .status = 503, .count = 1};
    int rule = fake_add_fault(env.fake, &f);
    ck_assert_int_gt(rule, 0);
    run_scans(&te, slot, 2);
    ck_assert_int_eq(fake_fault_hits(env.fake, rule), 1);
    ck_assert_int_eq(is_deleted(&env, gone), 0);
    run_scans(&te, slot, 3);
    tu_engine_stop(&te);
    ck_assert_int_eq(is_deleted(&env, gone), 1);
    ck_assert_int_eq(gets_of(&env, gone), 2);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/*
 * A 404 concludes a deletion only after every [retry] attempt answered it:
 * when the tenant's retry budget refuses the retries, the candidate is
 * left for the next reconciliation rather than deleted on fewer 404s.
 */
START_TEST(spent_retry_budget_does_not_shorten_the_404_confirmation)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 100, 0, 0);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    /* Two retries in the budget (a 404 earns nothing back, and the pages
     * before can only fill it to its size):
     * the first candidate's confirmation spends them all. */
    tu_config(&env,
              "poll.reconcile_interval = 1ms\nretry.max_attempts = 3\nretry.base_delay = 1ms\n"
              "retry.max_delay = 1ms\nretry.budget = 10\nretry.budget_cost = 5\n"
              "retry.budget_refill = 1\nvomo.max_concurrency = 1\n",
              a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *slot = slot_of(te.e, "acme", "users");
    run_scans(&te, slot, 1);
    char gone[3][32];
    for (int i = 0; i < 3; i++) {
        nth_record(&env, "acme", (size_t)(10 + 30 * i), gone[i], NULL);
        ck_assert_int_eq(fake_delete_id(env.fake, "acme", "users", gone[i]), 0);
    }
    fake_requests_clear(env.fake);
    run_scans(&te, slot, 2);
    tu_engine_stop(&te);
    int deleted = 0;
    for (int i = 0; i < 3; i++) {
        int n = gets_of(&env, gone[i]);
        ck_assert_msg(!is_deleted(&env, gone[i]) || n >= 3,
                      "record %s deleted after only %d GET(s) answered 404", gone[i], n);
        deleted += is_deleted(&env, gone[i]);
    }
    ck_assert_int_eq(deleted, 1); /* the one the budget paid for */
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- the bound ---- */

static int64_t blocked(struct tu_env *env, const char *col)
{
    char sql[128];
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM reconcile_blocks WHERE tenant = 'acme' AND "
             "resource = 'users'",
             col);
    return tu_db_int(env, sql, NULL);
}

static int by_id_gets(struct tu_env *env)
{
    struct fake_request *r;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &r, &n), 0);
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += strncmp(r[i].path, "/v1/users/", 10) == 0;
    fake_requests_free(r, n);
    return count;
}

/*
 * More records missing than poll.reconcile_max_deletes, or than a tenth of
 * those held: nothing is read back, nothing deleted, and a row waits for a
 * person until a reconciliation is within the bound.
 */
START_TEST(too_many_missing_deletes_nothing_and_asks_a_person)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 100, 0, 0);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "poll.reconcile_interval = 1ms\npoll.reconcile_max_deletes = 2\n", a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *slot = slot_of(te.e, "acme", "users");
    run_scans(&te, slot, 1);
    /* Three missing, the key allows two. */
    ck_assert_int_eq(fake_delete_random(env.fake, "acme", "users", 3), 3);
    fake_requests_clear(env.fake);
    run_scans(&te, slot, 3);
    tu_engine_stop(&te);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT count(*) FROM records WHERE deleted_at IS NOT NULL", NULL), 0);
    ck_assert_int_eq(by_id_gets(&env), 0);
    ck_assert_int_eq(blocked(&env, "candidates"), 3);
    ck_assert_int_eq(blocked(&env, "held"), 100);
    ck_assert_int_eq(blocked(&env, "max_deletes"), 2);
    /* Within the key, but more than a tenth of those held: the same. */
    tu_config(&env, "poll.reconcile_interval = 1ms\n", a);
    ck_assert_int_eq(fake_delete_random(env.fake, "acme", "users", 9), 9);
    tu_engine_start(&env, &te);
    slot = slot_of(te.e, "acme", "users");
    run_scans(&te, slot, 2);
    tu_engine_stop(&te);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT count(*) FROM records WHERE deleted_at IS NOT NULL", NULL), 0);
    ck_assert_int_eq(blocked(&env, "candidates"), 12);
    ck_assert_int_eq(by_id_gets(&env), 0);
    /* A person looked: the deletions are real (`vomo-sync reconcile allow`).
     * The next reconciliation deletes them, each still confirmed first. */
    struct store *st = NULL;
    ck_assert_int_eq(store_open(env.db_path, &st), 0);
    ck_assert_int_eq(
        store_reconcile_allow(st, "acme", "users", "tester", "2026-01-01T00:00:00.000Z"), 0);
    store_close(st);
    tu_config(&env, "poll.reconcile_interval = 1ms\nretry.max_attempts = 1\n", a);
    fake_requests_clear(env.fake);
    tu_engine_start(&env, &te);
    slot = slot_of(te.e, "acme", "users");
    run_scans(&te, slot, 1);
    tu_engine_stop(&te);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT count(*) FROM records WHERE deleted_at IS NOT NULL", NULL), 12);
    ck_assert_int_eq(by_id_gets(&env), 12);
    ck_assert_int_eq(blocked(&env, "candidates"), -1);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

static Suite *reconcile_suite(void)
{
    Suite *s = suite_create("reconcile");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, purge_keeps_versions_a_person_settled);
    tcase_add_test(tc, record_that_slid_between_pages_is_not_deleted);
    tcase_add_test(tc, unconfirmed_candidate_waits_for_the_next_reconciliation);
    tcase_add_test(tc, spent_retry_budget_does_not_shorten_the_404_confirmation);
    tcase_add_test(tc, too_many_missing_deletes_nothing_and_asks_a_person);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reconcile_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
