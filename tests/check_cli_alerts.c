/*
 * check_cli_alerts.c - `vomo-sync alerts` and `vomo-sync resume`, run as
 * the real binary against a temporary configuration and state database (no
 * daemon): what they print for firing and resolved episodes, their JSON,
 * the resume row they leave for the daemon, and their exit codes.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "store_alerts.h"
#include "clirun.h"
#include "util.h"

extern char **environ;

static char dir[64], cfg_path[128], db_path[128], out_path[128], err_path[128];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static struct store *open_db(void)
{
    struct store *s = NULL;
    ck_assert_int_eq(store_open(db_path, &s), 0);
    return s;
}

static void setup(void)
{
    store_set_log_errors(0);
    snprintf(dir, sizeof(dir), "/tmp/check_clial.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cfg_path, sizeof(cfg_path), "%s/vomo-sync.ini", dir);
    snprintf(db_path, sizeof(db_path), "%s/state.db", dir);
    snprintf(out_path, sizeof(out_path), "%s/out", dir);
    snprintf(err_path, sizeof(err_path), "%s/err", dir);
    write_file(cfg_path,
               "[daemon]\nstate_db = state.db\n\n[tenant.acme]\ntoken_file = acme.token\n");
    struct store *s = open_db();
    ck_assert_int_eq(store_migrate(s, NULL, NULL), 0);
    store_close(s);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Runs `vomo-sync --config CFG ARGS...` (args NULL-terminated) to completion. */
static struct clirun run_argv(const char *const *args)
{
    return clirun_argv(cfg_path, NULL, out_path, err_path, args);
}

#define RUN_EXPECT(code_, ...)                                                                     \
    ({                                                                                             \
        struct clirun r_ = run_argv((const char *const[]){__VA_ARGS__, NULL});                     \
        ck_assert_msg(r_.code == (code_), "exit %d, want %d; stdout: %s; stderr: %s", r_.code,     \
                      (code_), r_.out, r_.err);                                                    \
        r_;                                                                                        \
    })

/* A resolved episode of an hour ago and one firing now. */
static void two_episodes(void)
{
    struct store *s = open_db();
    int64_t now = clock_wall_ms(), id;
    ck_assert_int_eq(store_alert_fire(s, "TenantFailing", "acme", "", "warning", now - 3600000,
                                      "acme failed", &id),
                     0);
    ck_assert_int_eq(store_alert_resolve(s, id, now - 3000000), 0);
    ck_assert_int_eq(store_alert_fire(s, "PollingLag", "acme", "groups", "warning", now - 60000,
                                      "acme/groups: no complete scan", &id),
                     0);
    store_close(s);
}

START_TEST(alerts_lists_firing_and_all)
{
    struct clirun r = RUN_EXPECT(0, "alerts");
    ck_assert_ptr_nonnull(strstr(r.out, "no alert firing"));
    clirun_free(&r);
    two_episodes();
    r = RUN_EXPECT(0, "alerts");
    ck_assert_ptr_nonnull(strstr(r.out, "PollingLag"));
    ck_assert_ptr_nonnull(strstr(r.out, "acme/groups: no complete scan"));
    ck_assert_ptr_null(strstr(r.out, "TenantFailing"));
    clirun_free(&r);
    r = RUN_EXPECT(0, "alerts", "--all", "--json");
    cJSON *a = cJSON_Parse(r.out);
    ck_assert(cJSON_IsArray(a));
    ck_assert_int_eq(cJSON_GetArraySize(a), 2);
    /* Newest first. */
    cJSON *first = cJSON_GetArrayItem(a, 0), *second = cJSON_GetArrayItem(a, 1);
    ck_assert_str_eq(cJSON_GetObjectItem(first, "name")->valuestring, "PollingLag");
    ck_assert_str_eq(cJSON_GetObjectItem(second, "state")->valuestring, "resolved");
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(second, "resolved_at")));
    cJSON_Delete(a);
    clirun_free(&r);
    r = RUN_EXPECT(0, "status");
    ck_assert_ptr_nonnull(strstr(r.out, "alerts firing:"));
    ck_assert_ptr_nonnull(strstr(r.out, "acme/groups: no complete scan"));
    ck_assert_ptr_nonnull(strstr(r.out, "error budgets:"));
    clirun_free(&r);
}
END_TEST

START_TEST(alerts_usage)
{
    struct clirun r = RUN_EXPECT(0, "alerts", "--help");
    ck_assert_ptr_nonnull(strstr(r.out, "usage: vomo-sync [--config FILE] alerts"));
    clirun_free(&r);
    r = RUN_EXPECT(2, "alerts", "--bogus");
    ck_assert_ptr_nonnull(strstr(r.err, "bad option"));
    clirun_free(&r);
    r = RUN_EXPECT(2, "alerts", "extra");
    clirun_free(&r);
    r = RUN_EXPECT(0, "--help");
    ck_assert_ptr_nonnull(strstr(r.out, "alerts"));
    ck_assert_ptr_nonnull(strstr(r.out, "resume"));
    clirun_free(&r);
}
END_TEST

START_TEST(resume_leaves_a_row_for_the_daemon)
{
    struct clirun r = RUN_EXPECT(0, "resume", "acme");
    ck_assert_ptr_nonnull(strstr(r.out, "resume recorded"));
    clirun_free(&r);
    struct store *s = open_db();
    int64_t at = 0;
    ck_assert_int_eq(store_slo_resume_at(s, "acme", &at), 0);
    store_close(s);
    ck_assert_int_gt(at, clock_wall_ms() - 60000);
    r = RUN_EXPECT(2, "resume", "nobody");
    ck_assert_ptr_nonnull(strstr(r.err, "no tenant 'nobody'"));
    clirun_free(&r);
    r = RUN_EXPECT(2, "resume");
    clirun_free(&r);
    r = RUN_EXPECT(0, "resume", "--help");
    clirun_free(&r);
}
END_TEST

static Suite *cli_alerts_suite(void)
{
    Suite *s = suite_create("cli_alerts");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, alerts_lists_firing_and_all);
    tcase_add_test(tc, alerts_usage);
    tcase_add_test(tc, resume_leaves_a_row_for_the_daemon);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cli_alerts_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
